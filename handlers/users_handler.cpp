#include "handlers/users_handler.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <pqxx/nontransaction>
#include <pqxx/stream_to>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "base/postgres/identifier.hpp"
#include "base/postgres/pipelined_commit.hpp"
#include "handlers/django_tables.hpp"
#include "handlers/event_path.hpp"
#include "handlers/event_types.hpp"

namespace projectord::handlers {

namespace {

// last_event_processed is the guide's PositiveIntegerField (integer): a Redis entry's position (its id mapped
// to 63 bits) does not fit, and such a user keeps 0 there ("not a store position").
Position last_event_processed(const Event& event) {
  return event.position <= std::numeric_limits<std::int32_t>::max() ? event.position : 0;
}

using Text = std::optional<std::string>;

// A field assignment: unset, or set to a value that may be SQL NULL.
struct Assign {
  bool set = false;
  Text value;
  void to(Text v) {
    set = true;
    value = std::move(v);
  }
};

// What a run of events does to one row. Both outcomes are tracked because the batch does not know whether
// the row exists: `existing` applies when it did before the batch, `fresh` when it did not.
struct Changes {
  Assign username, email, first_name, last_name, phone, is_active, created_at, deactivated_at;
  std::int64_t version = 0;
  Position position = 0;
  bool touched = false;
};

struct UserFold {
  Changes existing;
  Changes fresh;         // meaningful once `created`; then every column is assigned
  bool created = false;  // a UserRegistered happened while the row did not exist
  Position first_seen = 0;
};

// The payload fields this projection reads, parsed once (a literal path cannot fail to parse) and only read
// afterwards, so lanes on other threads share them safely.
struct Fields {
  EventPath username = *EventPath::parse("data.username");
  EventPath email = *EventPath::parse("data.email");
  EventPath new_email = *EventPath::parse("data.new_email");
  EventPath first_name = *EventPath::parse("data.first_name");
  EventPath last_name = *EventPath::parse("data.last_name");
  EventPath phone = *EventPath::parse("data.phone");
};
const Fields& fields() {
  static const Fields parsed;
  return parsed;
}

Text event_time(const Event& event) { return event.recorded_at.empty() ? Text("now") : Text(event.recorded_at); }

Text or_empty(Text value) { return value ? std::move(value) : Text(std::string()); }

enum class UserEventKind { registered, email_changed, profile_updated, deactivated, other };

UserEventKind kind_of(const Event& event) {
  const std::string_view name = class_name_of(event.type);
  if (name == "UserRegistered") return UserEventKind::registered;
  if (name == "UserEmailChanged") return UserEventKind::email_changed;
  if (name == "UserProfileUpdated") return UserEventKind::profile_updated;
  if (name == "UserDeactivated") return UserEventKind::deactivated;
  return UserEventKind::other;
}

// Applies one event to one outcome whose row exists.
void apply_to_row(Changes& row, UserEventKind kind, const Event& event) {
  switch (kind) {
    case UserEventKind::registered:
      row.username.to(fields().username.evaluate(event));
      row.email.to(fields().email.evaluate(event));
      row.first_name.to(or_empty(fields().first_name.evaluate(event)));
      row.last_name.to(or_empty(fields().last_name.evaluate(event)));
      break;
    case UserEventKind::email_changed:
      row.email.to(fields().new_email.evaluate(event));
      break;
    case UserEventKind::profile_updated:
      if (auto v = fields().first_name.evaluate(event)) row.first_name.to(std::move(v));
      if (auto v = fields().last_name.evaluate(event)) row.last_name.to(std::move(v));
      if (auto v = fields().phone.evaluate(event)) row.phone.to(std::move(v));
      break;
    case UserEventKind::deactivated:
      row.is_active.to(Text("false"));
      row.deactivated_at.to(event_time(event));
      break;
    case UserEventKind::other:
      return;
  }
  row.version = event.version;
  row.position = last_event_processed(event);
  row.touched = true;
}

// A registration of a user with no row: the registration's fields plus every column's initial value.
void create_row(Changes& row, const Event& event) {
  apply_to_row(row, UserEventKind::registered, event);
  row.phone.to(Text(std::string()));
  row.is_active.to(Text("true"));
  row.created_at.to(event_time(event));
  row.deactivated_at.to(Text());
}

const char* flag(bool b) { return b ? "t" : "f"; }

// What glibc's malloc takes for a block of `size` bytes: a header word, rounded up to 16.
std::size_t malloc_block(std::size_t size) { return (size + sizeof(std::size_t) + 15) / 16 * 16; }

// The heap behind a string: none while it fits in the string itself.
std::size_t heap_bytes(const std::string& text) {
  return text.capacity() > std::string().capacity() ? malloc_block(text.capacity() + 1) : 0;
}

std::size_t heap_bytes(const Changes& row) {
  std::size_t bytes = 0;
  for (const Assign* assign : {&row.username, &row.email, &row.first_name, &row.last_name, &row.phone,
                               &row.is_active, &row.created_at, &row.deactivated_at}) {
    if (assign->value) bytes += heap_bytes(*assign->value);
  }
  return bytes;
}

// One user's node in the map (libstdc++ keeps the next pointer and the key's hash beside the pair), its bucket
// and its place in `order`, each vector at up to twice its size.
constexpr std::size_t kBytesPerUser =
    (sizeof(void*) + sizeof(std::pair<const std::string, UserFold>) + sizeof(std::size_t) + 15) / 16 * 16 +
    2 * sizeof(void*) + 2 * sizeof(void*);

// The columns a row that existed keeps or takes from the events, in the order of Changes' fields below
// (kept_or_set) and of the one-user UPDATE's parameters.
constexpr std::array<const char*, 7> kKeptOrSet = {"username", "email",     "first_name",    "last_name",
                                                   "phone",    "is_active", "deactivated_at"};

std::array<const Assign*, 7> kept_or_set(const Changes& row) {
  return {&row.username, &row.email, &row.first_name, &row.last_name, &row.phone, &row.is_active, &row.deactivated_at};
}

// The UPDATE of rows that existed, up to its FROM or WHERE: each kept-or-set column from its flag and value,
// then the version and position, in that order, as `value` names them ("username_set", "username", ...,
// "version", "position").
std::string update_existing_sql(const std::string& table, const std::function<std::string(const std::string&)>& value) {
  std::string sql = "UPDATE " + table + " u SET ";
  for (const std::string column : kKeptOrSet) {
    const std::string set = value(column + "_set");
    sql += column + " = CASE WHEN " + set + " THEN " + value(column) + " ELSE u." + column + " END, ";
  }
  const std::string version = value("version");
  return sql + "current_version = " + version + ", last_event_processed = " + value("position") +
         ", updated_at = now()";
}

constexpr const char* kInsertedColumns =
    "user_id, username, email, first_name, last_name, phone, is_active, created_at, updated_at, deactivated_at,"
    " current_version, last_event_processed";

constexpr const char* kUpdateOne = "projectord_users_update_one";
constexpr const char* kInsertOne = "projectord_users_insert_one";

}  // namespace

// Users folded so far in the current transaction, in order of first appearance (inserts keep position order).
struct UsersHandler::Pending {
  std::unordered_map<std::string, UserFold> folds;
  std::vector<const std::pair<const std::string, UserFold>*> order;  // node-based: stable across rehashing
  std::size_t bytes = 0;  // kept up to date by `fold`: see folded_bytes
};

UsersHandler::~UsersHandler() = default;

Result<std::unique_ptr<ProjectionHandler>> UsersHandler::make(const config::Handler& handler) {
  const auto budget = static_cast<std::size_t>(handler.option<std::int64_t>("fold_memory"));
  return std::unique_ptr<ProjectionHandler>(new UsersHandler(handler.table, budget));
}

UsersHandler::UsersHandler(std::string table, std::size_t memory_budget)
    : table_(std::move(table)),
      memory_budget_(memory_budget),
      stage_("projectord_users_stage"),
      pending_(std::make_unique<Pending>()) {
  const std::string t = postgres::quote_identifier(table_);
  update_sql_ = update_existing_sql(t, [](const std::string& value) { return "s.e_" + value; }) + " FROM " + stage_ +
                " s WHERE s.e_touched AND u.user_id = s.user_id";
  insert_sql_ = "INSERT INTO " + t + " (" + kInsertedColumns +
                ") SELECT s.user_id, s.f_username, s.f_email, s.f_first_name, s.f_last_name, s.f_phone, s.f_is_active,"
                " s.f_created_at, now(), s.f_deactivated_at, s.f_version, s.f_position FROM " +
                stage_ + " s WHERE s.f_created ORDER BY s.first_seen ON CONFLICT (user_id) DO NOTHING";
  int parameter = 1;  // $1 is the user id
  statements_.add(kUpdateOne, update_existing_sql(t, [&](const std::string&) {
                                return "$" + std::to_string(++parameter);
                              }) + " WHERE u.user_id = $1");
  statements_.add(kInsertOne, "INSERT INTO " + t + " (" + kInsertedColumns +
                                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9, $10, $11)"
                                  " ON CONFLICT (user_id) DO NOTHING");
}

std::vector<SetupStatement> UsersHandler::setup_sql() const { return user_projection_ddl(table_); }

std::vector<ReaderIndex> UsersHandler::reader_indexes() const { return user_projection_reader_indexes(table_); }

namespace {

std::string stage_ddl(const std::string& stage, const std::string& on_commit) {
  return "CREATE TEMP TABLE IF NOT EXISTS " + stage +
         " (user_id text, first_seen bigint,"
         " e_touched bool, e_username_set bool, e_username text, e_email_set bool, e_email text,"
         " e_first_name_set bool, e_first_name text, e_last_name_set bool, e_last_name text,"
         " e_phone_set bool, e_phone text, e_is_active_set bool, e_is_active bool,"
         " e_deactivated_at_set bool, e_deactivated_at timestamptz, e_version bigint, e_position bigint,"
         " f_created bool, f_username text, f_email text, f_first_name text, f_last_name text, f_phone text,"
         " f_is_active bool, f_created_at timestamptz, f_deactivated_at timestamptz, f_version bigint,"
         " f_position bigint) ON COMMIT " + on_commit;
}

}  // namespace

// On a session connection the stage lives as long as the connection, emptied at each commit; behind a
// transaction pooler the next transaction may run on another server session, so each write creates its own.
void UsersHandler::on_connect(pqxx::connection& connection, postgres::Pooling pooling) {
  statements_.prepare(connection, pooling);
  stage_per_transaction_ = pooling == postgres::Pooling::transaction;
  if (stage_per_transaction_) return;
  pqxx::nontransaction txn(connection);
  txn.exec(stage_ddl(stage_, "DELETE ROWS"));
}

// One transaction's folds, sealed: written on the lane's writer thread while the handler folds the next.
class UsersHandler::Writes final : public SealedWrites {
 public:
  Writes(const UsersHandler& handler, std::unique_ptr<Pending> pending)
      : handler_(handler), pending_(std::move(pending)) {}
  void write(pqxx::work& txn) override;

 private:
  void write_on_commit(postgres::PipelinedCommit& txn);

  const UsersHandler& handler_;  // its SQL text and stage, which change only between sessions
  std::unique_ptr<Pending> pending_;
};

void UsersHandler::apply(pqxx::work& /*txn*/, std::span<const Event> events) { fold(events); }

void UsersHandler::fold(std::span<const Event> events) {
  for (const Event& event : events) {
    const UserEventKind kind = kind_of(event);
    if (kind == UserEventKind::other) continue;
    auto [it, inserted] = pending_->folds.try_emplace(event.stream_id);
    UserFold& fold = it->second;
    if (inserted) {
      fold.first_seen = event.position;
      pending_->order.push_back(&*it);
      pending_->bytes += kBytesPerUser + heap_bytes(it->first);
    }
    const std::size_t values_before = heap_bytes(fold.existing) + heap_bytes(fold.fresh);
    apply_to_row(fold.existing, kind, event);
    if (fold.created) {
      apply_to_row(fold.fresh, kind, event);
    } else if (kind == UserEventKind::registered) {
      fold.created = true;
      fold.first_seen = event.position;
      create_row(fold.fresh, event);
    }
    pending_->bytes += heap_bytes(fold.existing) + heap_bytes(fold.fresh) - values_before;  // modulo 2^64: may shrink
  }
}

std::size_t UsersHandler::folded_bytes() const { return pending_->bytes; }

std::unique_ptr<SealedWrites> UsersHandler::seal() {
  auto sealed = std::make_unique<Writes>(*this, std::move(pending_));
  pending_ = std::make_unique<Pending>();
  return sealed;
}

void UsersHandler::flush(pqxx::work& txn) {
  if (!pending_->folds.empty()) seal()->write(txn);
}

void UsersHandler::Writes::write(pqxx::work& txn) {
  if (pending_->folds.empty()) return;
  if (auto* live = dynamic_cast<postgres::PipelinedCommit*>(&txn);
      live != nullptr && live->takes(pending_->folds.size())) {
    write_on_commit(*live);
    return;
  }
  if (handler_.stage_per_transaction_) txn.exec0(stage_ddl(handler_.stage_, "DROP"));
  {
    pqxx::stream_to copy(txn, handler_.stage_);
    for (const auto* user : pending_->order) {
      const std::string& user_id = user->first;
      const UserFold& f = user->second;
      const Changes& e = f.existing;
      const Changes& n = f.fresh;
      copy << std::forward_as_tuple(
          user_id, f.first_seen, flag(e.touched), flag(e.username.set), e.username.value, flag(e.email.set),
          e.email.value, flag(e.first_name.set), e.first_name.value, flag(e.last_name.set), e.last_name.value,
          flag(e.phone.set), e.phone.value, flag(e.is_active.set), e.is_active.value, flag(e.deactivated_at.set),
          e.deactivated_at.value, e.version, e.position, flag(f.created), n.username.value, n.email.value,
          n.first_name.value, n.last_name.value, n.phone.value, n.is_active.value, n.created_at.value,
          n.deactivated_at.value, n.version, n.position);
    }
    copy.complete();
  }
  pending_.reset();  // staged: the lane may be folding the next transaction's users meanwhile
  // The stage is not analysed. Sized from its pages alone, it looks smaller than it is, so a large model is
  // probed through its user_id index, stage row by stage row: the cost follows the stage, not the model.
  // Analysed, it would be hashed and the whole model scanned against it in every transaction, and the
  // ANALYZE itself would take a tenth of the writer's time.
  txn.exec(handler_.update_sql_);
  txn.exec(handler_.insert_sql_);
}

// A live transaction's few users go as statements on its COMMIT's round trip: one UPDATE per user that existed
// and one INSERT per user registered, as the staged UPDATE and INSERT would write them (the inserts in
// registration order), without the stage's COPY and two statements planned for a handful of rows.
void UsersHandler::Writes::write_on_commit(postgres::PipelinedCommit& txn) {
  std::vector<const std::pair<const std::string, UserFold>*> registered;
  for (const auto* user : pending_->order) {
    const UserFold& fold = user->second;
    if (fold.created) registered.push_back(user);
    if (!fold.existing.touched) continue;
    std::vector<Text> values{user->first};
    for (const Assign* assign : kept_or_set(fold.existing)) {
      values.emplace_back(flag(assign->set));
      values.push_back(assign->value);
    }
    values.emplace_back(std::to_string(fold.existing.version));
    values.emplace_back(std::to_string(fold.existing.position));
    txn.on_commit(handler_.statements_[kUpdateOne], std::move(values));
  }
  std::ranges::sort(registered, {}, [](const auto* user) { return user->second.first_seen; });
  for (const auto* user : registered) {
    const Changes& n = user->second.fresh;
    txn.on_commit(handler_.statements_[kInsertOne],
                  {user->first, n.username.value, n.email.value, n.first_name.value, n.last_name.value, n.phone.value,
                   n.is_active.value, n.created_at.value, n.deactivated_at.value, std::to_string(n.version),
                   std::to_string(n.position)});
  }
  pending_.reset();
}

void UsersHandler::discard() { pending_ = std::make_unique<Pending>(); }

// The id comes from the table's identity sequence and the time is the writing transaction's.
std::map<std::string, std::set<std::string>> UsersHandler::bookkeeping_columns() const {
  return {{table_, {"id", "updated_at"}}};
}

}  // namespace projectord::handlers
