// The lane's catch-up transaction (daemon/lane/catchup_transaction.hpp) against a real PostgreSQL, driven read
// by read as the lane drives it: several reads in one transaction, a folding handler's write in the
// background, failures of the events' own marking a range for careful replay, transient ones thrown, and a
// session's end ending both kinds of transaction before its connection closes.
#include <catch2/catch.hpp>
#include <functional>
#include <pqxx/pqxx>
#include <stdexcept>

#include "daemon/lane/catchup_transaction.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/quiet_source.hpp"
#include "tests/support/test_database.hpp"

using namespace projectord;
using projectord::testing::install_projectord_schema;
using projectord::testing::QuietSource;
using projectord::testing::TestDatabase;

namespace {

const std::string kCatchupLog = "catchup_log";

std::vector<SourceRow> rows(Position first, Position last) {
  std::vector<SourceRow> made;
  for (Position position = first; position <= last; ++position) {
    Event event;
    event.position = position;
    event.type = "Counted";
    made.push_back({position, event});
  }
  return made;
}

void insert(pqxx::work& txn, Position position) { txn.exec_params("INSERT INTO catchup_log VALUES ($1)", position); }

// Inserts each event's position; `failing` throws what `fail` makes instead.
class PositionLog final : public handlers::ProjectionHandler {
 public:
  std::vector<handlers::SetupStatement> setup_sql() const override { return {}; }
  void apply(pqxx::work& txn, std::span<const Event> events) override {
    for (const Event& event : events) {
      if (event.position == failing) fail();
      insert(txn, event.position);
    }
  }
  void discard() override { ++discarded; }

  Position failing = 0;
  std::function<void()> fail;
  int discarded = 0;
};

// Folds positions in memory, 8 bytes each; the sealed writes insert them, or fail as the events' own when
// `refuse_writes`. Its budget holds two folds of `positions_per_transaction`.
class FoldedLog final : public handlers::ProjectionHandler, public handlers::Folding {
 public:
  std::vector<handlers::SetupStatement> setup_sql() const override { return {}; }
  void apply(pqxx::work&, std::span<const Event>) override {}
  void discard() override { folded_.clear(); }
  Folding* folding() override { return this; }
  void fold(std::span<const Event> events) override {
    for (const Event& event : events) folded_.push_back(event.position);
  }
  std::size_t folded_bytes() const override { return folded_.size() * sizeof(Position); }
  std::size_t memory_budget() const override { return 2 * positions_per_transaction * sizeof(Position); }
  std::unique_ptr<handlers::SealedWrites> seal() override {
    return std::make_unique<Sealed>(std::exchange(folded_, {}), refuse_writes);
  }

  bool refuse_writes = false;
  std::size_t positions_per_transaction = 8;

 private:
  struct Sealed final : handlers::SealedWrites {
    Sealed(std::vector<Position> positions, bool refuse) : positions(std::move(positions)), refuse(refuse) {}
    void write(pqxx::work& txn) override {
      if (refuse) throw std::runtime_error("refused by the write");
      for (const Position position : positions) insert(txn, position);
    }
    std::vector<Position> positions;
    bool refuse;
  };
  std::vector<Position> folded_;
};

// A lane's side of the transactions: its checkpoint row and what each commit reported.
struct LaneSide {
  struct Commit {
    Position to;
    std::int64_t events;
    bool operator==(const Commit&) const = default;
  };

  explicit LaneSide(handlers::ProjectionHandler& projection)
      : catchup({kCatchupLog, projection, types, checkpoint, source, position, session,
                 [this](Position to, std::int64_t events, Clock::time_point) {
                   position = to;
                   commits.push_back({to, events});
                 }}) {
    db.exec("CREATE TABLE catchup_log (position bigint PRIMARY KEY)");
    install_projectord_schema(db);
    target = db.connect();
    checkpoint.prepare(*target, postgres::Pooling::session);
    checkpoint.load(*target);
  }

  // A read of positions `first` to `last`, added to the open transaction.
  void add(Position first, Position last) {
    std::vector<SourceRow> read = rows(first, last);
    catchup.add(read, last, {});
  }

  // Two full reads of 4 (positions 1 to 8), as a catch-up makes them: a FoldedLog's fold is full and goes to
  // the writer.
  void read_full_twice() {
    for (Position last : {4, 8}) {
      add(last - 3, last);
      CHECK_FALSE(catchup.after_read(true, false));
    }
  }

  // Positions 1 to `to` were written and the checkpoint moved there, by one commit.
  void check_one_commit_up_to(Position to) const {
    CHECK(commits == std::vector<Commit>{{to, to}});
    CHECK(stored_checkpoint() == to);
    CHECK(written() == to);
  }

  std::int64_t stored_checkpoint() const {
    return db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = '" + kCatchupLog + "'");
  }
  std::int64_t written() const { return db.query_int("SELECT count(*) FROM catchup_log"); }

  TestDatabase db;
  handlers::TypeFilter types{{}};
  checkpoints::CheckpointStore checkpoint{kCatchupLog, "scripted"};
  QuietSource source;
  Position position = 0;
  postgres::SessionSettings session{postgres::Pooling::session};
  std::vector<Commit> commits;
  std::unique_ptr<pqxx::connection> target;
  CatchupTransaction catchup;
};

}  // namespace

TEST_CASE("a catch-up transaction spans its reads and moves the checkpoint once, when the source has no more") {
  PositionLog log;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });

  REQUIRE(lane.catchup.takes(0, true));
  lane.add(1, 4);
  CHECK_FALSE(lane.catchup.after_read(true, false));
  CHECK(lane.catchup.read_from() == 4);
  CHECK(lane.stored_checkpoint() == 0);  // still open

  lane.add(5, 6);
  CHECK_FALSE(lane.catchup.after_read(false, false));
  CHECK_FALSE(lane.catchup.open());
  lane.check_one_commit_up_to(6);
}

TEST_CASE("a catch-up transaction of a handler that does not fold commits after its full reads, one read each in "
          "a rebuild under writes") {
  PositionLog log;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });
  const bool under_writes = GENERATE(false, true);
  const Position reads = under_writes ? 1 : static_cast<Position>(kReadsPerTransaction);

  for (Position read = 0; read < reads; ++read) {
    CHECK(lane.commits.empty());
    lane.add(read * 4 + 1, read * 4 + 4);
    CHECK_FALSE(lane.catchup.after_read(true, under_writes));
  }
  CHECK(lane.commits == std::vector<LaneSide::Commit>{{reads * 4, reads * 4}});
}

TEST_CASE("a folding handler's catch-up commits each time its fold holds half its memory budget, each commit "
          "moving the checkpoint") {
  FoldedLog log;
  log.positions_per_transaction = 12;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });

  for (Position last = 4; last <= 24; last += 4) {
    lane.add(last - 3, last);
    CHECK_FALSE(lane.catchup.after_read(true, false));
  }
  lane.add(25, 26);
  CHECK_FALSE(lane.catchup.after_read(false, false));

  CHECK(lane.commits == std::vector<LaneSide::Commit>{{12, 12}, {24, 12}, {26, 2}});
  CHECK(lane.stored_checkpoint() == 26);
  CHECK(lane.written() == 26);
}

TEST_CASE("a folding handler's catch-up folds read after read while its fold holds less than half its budget") {
  FoldedLog log;
  log.positions_per_transaction = 1000;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });

  for (Position last = 4; last <= 40; last += 4) {
    lane.add(last - 3, last);
    CHECK_FALSE(lane.catchup.after_read(true, false));
    CHECK(lane.catchup.open());
  }
  CHECK(lane.stored_checkpoint() == 0);
  CHECK_FALSE(lane.catchup.after_read(false, false));
  lane.check_one_commit_up_to(40);
}

TEST_CASE("an undecodable row rolls the open transaction back and marks its range for careful replay") {
  PositionLog log;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });

  lane.add(1, 4);
  std::vector<SourceRow> second = rows(5, 8);
  second[1].content = Undecodable{"s", "Counted", "{not json", "position 6: not JSON"};
  lane.catchup.add(second, 8, {});

  CHECK_FALSE(lane.catchup.open());
  CHECK(log.discarded == 1);
  CHECK_FALSE(lane.catchup.takes(0, true));
  CHECK_FALSE(lane.catchup.takes(4, true));
  CHECK(lane.catchup.takes(8, true));
  CHECK_FALSE(lane.catchup.close());
  CHECK(lane.commits.empty());
  CHECK(lane.written() == 0);
}

TEST_CASE("a handler's failure of the events' own marks the range for careful replay, a transient one is thrown") {
  PositionLog log;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });
  log.failing = 3;

  SECTION("the events' own") {
    log.fail = [] { throw handlers::HandlerError("no such account", handlers::HandlerError::Fault::event); };
    lane.add(1, 4);
    CHECK_FALSE(lane.catchup.open());
    CHECK_FALSE(lane.catchup.takes(0, true));
    CHECK(lane.catchup.takes(4, true));
  }
  SECTION("transient") {
    log.fail = [] { throw handlers::HandlerError("receiver down", handlers::HandlerError::Fault::transient); };
    CHECK_THROWS_WITH(lane.add(1, 4), "receiver down");
    CHECK(lane.catchup.takes(0, true));  // nothing marked: the lane reconnects and reads it all again
  }
  CHECK(lane.commits.empty());
}

TEST_CASE("a folding handler's transaction is written in the background while the lane reads on") {
  FoldedLog log;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });

  lane.read_full_twice();
  CHECK_FALSE(lane.catchup.open());
  CHECK(lane.catchup.read_from() == 8);  // after the write in flight, not the checkpoint
  CHECK(lane.position == 0);

  CHECK_FALSE(lane.catchup.finish_writing());
  lane.check_one_commit_up_to(8);
}

TEST_CASE("a background write that fails for its events' own reason rewinds the session and marks its range") {
  FoldedLog log;
  log.refuse_writes = true;
  LaneSide lane(log);
  const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });

  lane.add(1, 4);
  CHECK(lane.catchup.after_read(false, false) == SessionEnd::rewind);
  CHECK(lane.commits.empty());
  CHECK(lane.stored_checkpoint() == 0);
  CHECK_FALSE(lane.catchup.takes(0, true));
  CHECK(lane.catchup.takes(4, true));
}

TEST_CASE("a session's end rolls back the open transaction and ends the write in flight before the connection closes") {
  SECTION("open") {
    PositionLog log;
    LaneSide lane(log);
    {
      const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });
      lane.add(1, 4);
    }
    lane.target.reset();
    CHECK_FALSE(lane.catchup.open());
    CHECK(lane.written() == 0);
    CHECK(lane.stored_checkpoint() == 0);
  }
  SECTION("being written") {
    FoldedLog log;
    LaneSide lane(log);
    {
      const auto session = lane.catchup.begin_session([&]() -> pqxx::connection& { return *lane.target; });
      lane.read_full_twice();
    }
    lane.target.reset();
    CHECK(lane.stored_checkpoint() == 8);  // the write ran to its end; the next session loads what it stored
    CHECK(lane.commits.empty());           // forgotten: the lane reloads its checkpoint
    CHECK(lane.catchup.read_from() == 0);
  }
}
