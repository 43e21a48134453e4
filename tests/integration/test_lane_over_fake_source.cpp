// The lane (daemon/lane.hpp) over a scripted source and scripted handlers, against a real PostgreSQL for its
// read model and checkpoint: catch-up in multi-read transactions, a handler's word on whose fault a failure
// is, undecodable rows, and a folding handler's background write that fails for its events' own reason.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <semaphore>

#include "base/stoppable_sleep.hpp"
#include "daemon/lane.hpp"
#include "sources/row_fingerprint.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using namespace projectord;
using projectord::testing::eventually;
using projectord::testing::install_projectord_schema;
using projectord::testing::RunningLane;
using projectord::testing::TestDatabase;

namespace {

// Serves the rows it was given, `batch_size` a read; nothing is ever in a hole or blocked. `before_read`, when
// set, runs on the lane's thread before each read (a test holds the lane there).
class ScriptedSource final : public Source {
 public:
  ScriptedSource(std::vector<SourceRow> rows, std::size_t batch_size) : batch_size_(batch_size) {
    for (SourceRow& row : rows) rows_.emplace(row.position, std::move(row));
  }

  std::function<void(Position after)> before_read;

  void open(const std::string&, checkpoints::HoleDeadlines) override {}
  SourceBatch read(Position after, std::size_t limit, std::stop_token) override {
    if (before_read) before_read(after);
    SourceBatch batch;
    batch.head = rows_.empty() ? 0 : rows_.rbegin()->first;
    batch.to = after;
    for (auto it = rows_.upper_bound(after); it != rows_.end(); ++it) {
      if (batch.rows.size() == limit) {
        batch.truncated = true;
        break;
      }
      batch.rows.push_back(it->second);
      batch.to = it->first;
    }
    return batch;
  }
  void wait(bool, std::stop_token stop) override { sleep_unless_stopped(10ms, stop); }
  void wake() override {}
  void committed(Position) override {}
  void checkpoint_reset(Position) override {}
  std::vector<SourceRow> late_rows(bool& holes_changed) override {
    holes_changed = false;
    return {};
  }
  std::optional<SourceRow> read_at(Position position) override {
    const auto found = rows_.find(position);
    if (found == rows_.end()) return std::nullopt;
    return found->second;
  }
  Position head() override { return rows_.empty() ? 0 : rows_.rbegin()->first; }
  RowAt row_at(Position position) override {
    const auto found = rows_.find(position);
    if (found == rows_.end()) return {RowAt::Found::missing, 0};
    return {RowAt::Found::row, row_fingerprint(found->second)};
  }
  const checkpoints::HoleDeadlines& holes() const override { return holes_; }
  bool written_since_last_asked() override { return false; }
  Diagnostics diagnostics() const override { return {}; }
  const std::string& name() const override { return name_; }
  std::size_t batch_size() const override { return batch_size_; }

 private:
  std::map<Position, SourceRow> rows_;
  std::size_t batch_size_;
  checkpoints::HoleDeadlines holes_;
  std::string name_ = "scripted";
};

SourceRow event_row(Position position) {
  Event event;
  event.source = "scripted";
  event.position = position;
  event.stream_id = "s";
  event.type = "Counted";
  event.data = boost::json::object{{"n", position}};
  return {position, event};
}

std::vector<SourceRow> event_rows(Position last) {
  std::vector<SourceRow> rows;
  for (Position p = 1; p <= last; ++p) rows.push_back(event_row(p));
  return rows;
}

std::unique_ptr<ScriptedSource> scripted(std::vector<SourceRow> rows, std::size_t batch_size = 4) {
  return std::make_unique<ScriptedSource>(std::move(rows), batch_size);
}

config::Handler handler_config(config::OnError on_error = config::OnError::dead_letter) {
  config::Handler handler;
  handler.name = "scripted_log";
  handler.kind = "scripted";
  handler.source = "scripted";
  handler.on_error = on_error;
  handler.max_attempts = 2;
  handler.retry_backoff = 1ms;
  handler.retry_backoff_max = 2ms;
  return handler;
}

constexpr const char* kScriptedLogSetup = "CREATE TABLE IF NOT EXISTS scripted_log (position bigint PRIMARY KEY)";

void insert_positions(pqxx::work& txn, const std::vector<Position>& positions) {
  for (const Position position : positions) txn.exec_params("INSERT INTO scripted_log VALUES ($1)", position);
}

// Inserts each event's position (a second application fails on the primary key); at `failing`, throws
// `failures` times what `fail` makes before it lets the event through.
class ScriptedHandler final : public handlers::ProjectionHandler {
 public:
  using Fail = std::function<void()>;
  ScriptedHandler(Position failing = 0, int failures = 0, Fail fail = {})
      : failing_(failing), failures_left_(failures), fail_(std::move(fail)) {}

  std::vector<handlers::SetupStatement> setup_sql() const override { return {{"scripted_log", kScriptedLogSetup}}; }
  void apply(pqxx::work& txn, std::span<const Event> events) override {
    std::vector<Position> positions;
    for (const Event& event : events) {
      if (event.position == failing_ && failures_left_ > 0) {
        --failures_left_;
        fail_();
      }
      positions.push_back(event.position);
    }
    insert_positions(txn, positions);
  }

 private:
  Position failing_;
  std::atomic<int> failures_left_;
  Fail fail_;
};

// Folds positions in memory and writes them when sealed (on the lane's writer thread); the first write that
// holds `failing` fails with a unique violation of its own making, an error of its events.
class FoldingRecorder final : public handlers::ProjectionHandler, public handlers::Folding {
 public:
  explicit FoldingRecorder(Position failing, std::size_t budget = 2 * 8 * sizeof(Position))
      : failing_(failing), budget_(budget) {}

  std::vector<handlers::SetupStatement> setup_sql() const override { return {{"scripted_log", kScriptedLogSetup}}; }
  void apply(pqxx::work&, std::span<const Event> events) override { fold(events); }
  void flush(pqxx::work& txn) override { seal()->write(txn); }
  void discard() override { folded_.clear(); }
  Folding* folding() override { return this; }

  void fold(std::span<const Event> events) override {
    for (const Event& event : events) folded_.push_back(event.position);
  }
  std::size_t folded_bytes() const override { return folded_.size() * sizeof(Position); }
  // By default transactions of two reads of 4, so that one is written while the next is folded.
  std::size_t memory_budget() const override { return budget_; }
  std::unique_ptr<handlers::SealedWrites> seal() override {
    return std::make_unique<Sealed>(*this, std::exchange(folded_, {}));
  }

  int failed_writes() const { return failed_writes_; }

 private:
  struct Sealed final : handlers::SealedWrites {
    Sealed(FoldingRecorder& recorder, std::vector<Position> positions)
        : recorder(recorder), positions(std::move(positions)) {}
    void write(pqxx::work& txn) override {
      const bool holds_failing = std::find(positions.begin(), positions.end(), recorder.failing_) != positions.end();
      if (holds_failing && recorder.failed_writes_ == 0) {
        ++recorder.failed_writes_;
        throw std::runtime_error("position " + std::to_string(recorder.failing_) + " refused by the write");
      }
      insert_positions(txn, positions);
    }
    FoldingRecorder& recorder;
    std::vector<Position> positions;
  };

  Position failing_;
  std::size_t budget_;
  std::vector<Position> folded_;
  std::atomic<int> failed_writes_ = 0;
};

std::int64_t scripted_log_checkpoint(const TestDatabase& db) {
  return db.query_int("SELECT COALESCE((SELECT position FROM projectord.checkpoints WHERE handler = 'scripted_log'), -1)");
}

std::int64_t applied(const TestDatabase& db) {
  try {
    return db.query_int("SELECT count(*) FROM scripted_log");
  } catch (const pqxx::undefined_table&) {
    return -1;
  }
}

}  // namespace

TEST_CASE("a lane over a scripted source applies every row once, in multi-read transactions, up to the last") {
  TestDatabase db;
  install_projectord_schema(db);
  RunningLane lane(db, scripted(event_rows(25)), handler_config(), std::make_unique<ScriptedHandler>());

  REQUIRE(eventually([&] { return scripted_log_checkpoint(db) == 25; }));
  CHECK(applied(db) == 25);
  REQUIRE(eventually([&] { return lane.status().state == LaneState::idle; }));
  CHECK(lane.status().events_applied == 25);
  CHECK(lane.status().failed_attempts == 0);
}

TEST_CASE("a handler that calls its failure transient is retried in new sessions, no attempt counted, nothing skipped") {
  TestDatabase db;
  install_projectord_schema(db);
  auto fail = [] { throw handlers::HandlerError("receiver down", handlers::HandlerError::Fault::transient); };
  RunningLane lane(db, scripted(event_rows(10)), handler_config(config::OnError::stop),
                   std::make_unique<ScriptedHandler>(5, 2, fail));

  REQUIRE(eventually([&] { return scripted_log_checkpoint(db) == 10; }));
  CHECK(applied(db) == 10);
  const LaneStatus status = lane.status();
  CHECK(status.reconnects == 2);
  CHECK(status.failed_attempts == 0);
  CHECK(status.dead_letters == 0);
}

TEST_CASE("a handler that calls its failure the event's has the event dead-lettered after max_attempts") {
  TestDatabase db;
  install_projectord_schema(db);
  auto fail = [] { throw handlers::HandlerError("no such account", handlers::HandlerError::Fault::event); };
  RunningLane lane(db, scripted(event_rows(10)), handler_config(config::OnError::dead_letter),
                   std::make_unique<ScriptedHandler>(5, 1000, fail));

  REQUIRE(eventually([&] { return scripted_log_checkpoint(db) == 10; }));
  CHECK(applied(db) == 9);
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters") == 5);
  CHECK(db.query_int("SELECT attempts FROM projectord.dead_letters") == 2);
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters") == "no such account");
  CHECK(lane.status().reconnects == 0);
}

TEST_CASE("an undecodable row from the source is dead-lettered without reaching the handler, and the lane goes on") {
  TestDatabase db;
  install_projectord_schema(db);
  std::vector<SourceRow> rows = event_rows(6);
  rows[2].content = Undecodable{"s", "Counted", "{not json", "scripted position 3: not JSON"};
  RunningLane lane(db, scripted(std::move(rows)), handler_config(config::OnError::dead_letter),
                   std::make_unique<ScriptedHandler>());

  REQUIRE(eventually([&] { return scripted_log_checkpoint(db) == 6; }));
  CHECK(applied(db) == 5);
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters") == 3);
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters") == "scripted position 3: not JSON");
}

TEST_CASE("on_error = stop in a one-shot run ends the run halted on the poison event, checkpoint before it") {
  TestDatabase db;
  install_projectord_schema(db);
  auto fail = [] { throw handlers::HandlerError("no such account", handlers::HandlerError::Fault::event); };
  LaneOptions options;
  options.exit_when_caught_up = true;
  RunningLane lane(db, scripted(event_rows(10), 100), handler_config(config::OnError::stop),
                   std::make_unique<ScriptedHandler>(5, 1000, fail), std::move(options));

  REQUIRE(eventually([&] { return lane.status().state == LaneState::halted; }));
  lane.stop();  // the run has ended on its own: this joins it
  CHECK(lane.status().state == LaneState::halted);
  CHECK(lane.status().halted_at == 5);
  CHECK(scripted_log_checkpoint(db) == 4);
  CHECK(applied(db) == 4);
}

TEST_CASE("a folding handler's background write that fails for its events' reason rewinds and replays carefully") {
  TestDatabase db;
  install_projectord_schema(db);
  auto recorder = std::make_unique<FoldingRecorder>(17);
  const FoldingRecorder& seen = *recorder;
  RunningLane lane(db, scripted(event_rows(40), 4), handler_config(config::OnError::stop), std::move(recorder));

  REQUIRE(eventually([&] { return scripted_log_checkpoint(db) == 40; }));
  CHECK(seen.failed_writes() == 1);
  CHECK(applied(db) == 40);  // every position once: the primary key refuses a second
  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters") == 0);
  CHECK(lane.status().reconnects == 0);  // a rewind is no connection's fault
}

TEST_CASE("a folding catch-up whose fold spans many reads makes progress with each read, not only at its commit") {
  TestDatabase db;
  install_projectord_schema(db);
  auto source = scripted(event_rows(40), 4);
  std::counting_semaphore<4> reads(0);
  std::atomic<bool> all_open = false;
  source->before_read = [&](Position after) {
    if (after >= 4 && !all_open) reads.acquire();  // the first read goes at once, each later one when let
  };
  // A budget no fold of 40 positions reaches: the transaction stays open until the head.
  RunningLane lane(db, std::move(source), handler_config(config::OnError::stop),
                   std::make_unique<FoldingRecorder>(0, std::size_t{1} << 30));
  // Gone before the lane: however the test ends, the lane is not left waiting to read when it is stopped.
  const struct OpenAtEnd {
    std::atomic<bool>& all_open;
    std::counting_semaphore<4>& reads;
    ~OpenAtEnd() {
      all_open = true;
      reads.release();
    }
  } open_at_end{all_open, reads};

  REQUIRE(eventually([&] { return lane.status().last_progress.has_value(); }));
  for (int read = 0; read < 3; ++read) {
    const auto before = *lane.status().last_progress;
    reads.release();
    REQUIRE(eventually([&] { return *lane.status().last_progress > before; }));
    CHECK(scripted_log_checkpoint(db) <= 0);  // nothing committed: the reads alone moved it
  }
  all_open = true;
  reads.release();
  REQUIRE(eventually([&] { return scripted_log_checkpoint(db) == 40; }));
  CHECK(applied(db) == 40);
}
