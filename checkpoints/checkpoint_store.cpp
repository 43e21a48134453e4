#include "checkpoints/checkpoint_store.hpp"

#include <boost/json.hpp>
#include <pqxx/nontransaction>

namespace projectord::checkpoints {

namespace {

constexpr const char* kAdvance = "projectord_checkpoint_advance";
constexpr const char* kAdvanceOrFail = "projectord_checkpoint_advance_or_fail";
constexpr const char* kLeaseHeldOrFail = "projectord_checkpoint_lease_held_or_fail";
constexpr const char* kLeaseHeldSql = "SELECT 1 FROM projectord.leases WHERE name = $1 AND epoch = $2";
// $6, the lease's epoch, is null for a store never fenced.
constexpr const char* kMoveSql =
    "UPDATE projectord.checkpoints SET position = $3, events_applied = events_applied + $4, holes = $5::jsonb,"
    " updated_at = now() WHERE handler = $1 AND position = $2 AND ($6::bigint IS NULL"
    " OR EXISTS (SELECT 1 FROM projectord.leases WHERE name = $1 AND epoch = $6))";
// SQL has no RAISE: with no row moved (no lease row held), the count divides by zero, which fails the statement.
constexpr const char* kNoRowMoved = "22012";

std::string holes_json(const HoleDeadlines& holes) {
  boost::json::object json;
  for (const auto& [position, deadline] : holes) json[std::to_string(position)] = deadline;
  return boost::json::serialize(json);
}

}  // namespace

CheckpointStore::CheckpointStore(std::string handler, std::string source, std::optional<TrackingTable> tracking)
    : handler_(std::move(handler)), source_(std::move(source)), tracking_(std::move(tracking)) {
  statements_.add(kAdvance, kMoveSql);
  statements_.add(kAdvanceOrFail,
                  std::string("WITH moved AS (") + kMoveSql + " RETURNING 1) SELECT 1 / count(*) FROM moved");
  statements_.add(kLeaseHeldOrFail, std::string("SELECT 1 / count(*) FROM (SELECT WHERE $2::bigint IS NULL OR"
                                                " EXISTS (") + kLeaseHeldSql + ")) held");
}

void CheckpointStore::prepare(pqxx::connection& connection, postgres::Pooling pooling) {
  statements_.prepare(connection, pooling);
}

LeaseLost CheckpointStore::lease_lost() const {
  return LeaseLost("handler " + handler_ + ": lost its lease (epoch " + std::to_string(epoch_.value_or(0)) +
                   ") to another projectord process");
}

CheckpointMoved CheckpointStore::moved_from(Position from) const {
  return CheckpointMoved("handler " + handler_ + ": checkpoint is no longer at " + std::to_string(from) +
                         " (another projectord process runs this handler?)");
}

std::optional<Position> stored_position(pqxx::connection& connection, const std::string& handler) {
  pqxx::nontransaction txn(connection);
  const pqxx::result row = txn.exec_params("SELECT position FROM projectord.checkpoints WHERE handler = $1", handler);
  return row.empty() ? std::nullopt : std::optional<Position>(row[0][0].as<Position>());
}

bool CheckpointStore::exists(pqxx::connection& connection) const {
  return stored_position(connection, handler_).has_value();
}

Checkpoint CheckpointStore::load(pqxx::connection& connection, Position first) {
  pqxx::work txn(connection);
  txn.exec_params(
      "INSERT INTO projectord.checkpoints (handler, source, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
      handler_, source_, first);
  std::optional<Position> behind_tracking;
  if (tracking_) {
    tracking_->detect(txn);
    const Position tracked = tracking_->position(txn);
    const auto stored = txn.exec_params1("SELECT position FROM projectord.checkpoints WHERE handler = $1", handler_)[0]
                            .as<Position>();
    if (stored < tracked) {
      txn.exec_params0("UPDATE projectord.checkpoints SET position = $2, holes = '{}', anchor_position = NULL,"
                       " anchor_fingerprint = NULL, updated_at = now() WHERE handler = $1",
                       handler_, tracked);
      behind_tracking = stored;
    }
  }
  const pqxx::row row =
      txn.exec_params1("SELECT position, holes::text, anchor_position, anchor_fingerprint"
                       " FROM projectord.checkpoints WHERE handler = $1",
                       handler_);
  txn.commit();
  Checkpoint checkpoint{row[0].as<Position>(), {}, std::nullopt, behind_tracking};
  if (!row[2].is_null() && !row[3].is_null()) {
    checkpoint.mark = RowMark{row[2].as<Position>(), row[3].as<std::int64_t>()};
  }
  const boost::json::value holes = boost::json::parse(row[1].c_str());
  for (const auto& [position, deadline] : holes.as_object()) {
    checkpoint.holes.emplace(std::stoll(std::string(position)), deadline.to_number<std::int64_t>());
  }
  return checkpoint;
}

void CheckpointStore::advance(pqxx::work& txn, Position from, Position to, std::int64_t events,
                              const HoleDeadlines& holes) const {
  const pqxx::result updated = statements_.exec(txn, kAdvance, handler_, from, to, events, holes_json(holes), epoch_);
  if (updated.affected_rows() != 1) {
    if (epoch_ && txn.exec_params(kLeaseHeldSql, handler_, *epoch_).empty()) throw lease_lost();
    throw moved_from(from);
  }
  if (tracking_ && to > 0) tracking_->record(txn, to);
}

void CheckpointStore::commit_advance(postgres::PipelinedCommit& txn, Position from, Position to, std::int64_t events,
                                     const HoleDeadlines& holes) const {
  if (tracking_ && to > 0) tracking_->record(txn, to);
  // Whether the lease or the position failed is told by which statement failed: the lease is checked first.
  const std::optional<std::string> epoch = epoch_ ? std::optional(std::to_string(*epoch_)) : std::nullopt;
  const std::size_t lease_check = txn.on_commit(statements_[kLeaseHeldOrFail], {handler_, epoch});
  const std::size_t move =
      txn.on_commit(statements_[kAdvanceOrFail], {handler_, std::to_string(from), std::to_string(to), std::to_string(events),
                                     holes_json(holes), epoch});
  try {
    txn.commit();
  } catch (const postgres::FailedBeforeCommit& failed) {
    if (failed.sqlstate() != kNoRowMoved) throw;
    if (failed.index == lease_check) throw lease_lost();
    if (failed.index == move) throw moved_from(from);
    throw;
  }
}

void CheckpointStore::mark(pqxx::connection& connection, const RowMark& mark) const {
  pqxx::nontransaction txn(connection);
  txn.exec_params0("UPDATE projectord.checkpoints SET anchor_position = $2, anchor_fingerprint = $3"
                   " WHERE handler = $1 AND position >= $2",
                   handler_, mark.position, mark.fingerprint);
}

void CheckpointStore::reset(pqxx::connection& connection, Position to) const {
  pqxx::work txn(connection);
  txn.exec_params0("UPDATE projectord.checkpoints SET position = $2, holes = '{}', anchor_position = NULL,"
                   " anchor_fingerprint = NULL, updated_at = now() WHERE handler = $1",
                   handler_, to);
  if (tracking_) tracking_->reset(txn, to);
  txn.commit();
}

}  // namespace projectord::checkpoints
