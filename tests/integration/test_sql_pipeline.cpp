// A sql handler sends a batch's statements in one libpq pipeline, inside the caller's transaction, or a live
// transaction's few with its COMMIT: the read model it leaves, the event a failing statement is blamed on, the
// connection libpqxx gets back, and a lane isolating a poison event in the middle of a pipelined catch-up. The handler
// keeps a running total per stream and a history row per event that reads the total back, so a statement depends on the
// one before it.
#include <catch2/catch.hpp>
#include <map>
#include <pqxx/pqxx>

#include "base/postgres/errors.hpp"
#include "base/postgres/pipelined_commit.hpp"
#include "daemon/lane.hpp"
#include "handlers/registry.hpp"
#include "handlers/setup.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::Event;
using projectord::testing::create_store;
using projectord::testing::eventually;
using projectord::testing::generic_source;
using projectord::testing::RunningLane;
using projectord::testing::TestDatabase;
namespace config = projectord::config;
namespace handlers = projectord::handlers;

namespace {

config::Handler running_totals_handler(const std::string& name) {
  config::Handler handler;
  handler.name = name;
  handler.kind = "sql";
  handler.source = "store";
  handler.max_attempts = 2;
  handler.retry_backoff = 1ms;
  handler.retry_backoff_max = 2ms;
  handler.setup = "CREATE TABLE IF NOT EXISTS " + name +
                  "_totals (stream text PRIMARY KEY, n bigint NOT NULL, events integer NOT NULL);"
                  " CREATE TABLE IF NOT EXISTS " +
                  name + "_history (position bigint PRIMARY KEY, stream text NOT NULL, total bigint NOT NULL)";
  handler.statements.push_back({.on = "Counted",
                                .sql = "INSERT INTO " + name +
                                       "_totals (stream, n, events) VALUES ($1, $2::bigint, 1) ON CONFLICT (stream)"
                                       " DO UPDATE SET n = " +
                                       name + "_totals.n + EXCLUDED.n, events = " + name + "_totals.events + 1",
                                .params = {"stream_id", "data.n"},
                                .line = 1});
  handler.statements.push_back({.on = "Counted",
                                .sql = "INSERT INTO " + name +
                                       "_history (position, stream, total) SELECT $1::bigint, stream, n FROM " + name +
                                       "_totals WHERE stream = $2",
                                .params = {"position", "stream_id"},
                                .line = 2});
  handler.statements.push_back({.on = "Reset",
                                .sql = "UPDATE " + name + "_totals SET n = 0 WHERE stream = $1",
                                .params = {"stream_id"},
                                .line = 3});
  return handler;
}

std::unique_ptr<handlers::ProjectionHandler> ready_handler(pqxx::connection& connection,
                                                           const config::Handler& handler) {
  auto made = handlers::make_projection(handler);
  REQUIRE(made);
  std::unique_ptr<handlers::ProjectionHandler> projection = std::move(*made);
  pqxx::work setup(connection);
  handlers::create_missing(setup, projection->setup_sql());
  setup.commit();
  projection->on_connect(connection, projectord::postgres::Pooling::session);
  return projection;
}

// Positions 1..count over seven streams; every tenth event resets its stream's total.
std::vector<Event> counted_events(int count) {
  std::vector<Event> events;
  for (int i = 1; i <= count; ++i) {
    Event event;
    event.source = "store";
    event.position = i;
    event.stream_id = "s" + std::to_string(i % 7);
    event.type = i % 10 == 0 ? "Reset" : "Counted";
    event.data = {{"n", i}};
    events.push_back(std::move(event));
  }
  return events;
}

// `events` with the one at position 23 made poison: its upsert cannot cast "x" to bigint.
std::vector<Event> poisoned_at_23(std::vector<Event> events) {
  events[22].data = {{"n", "x"}};
  return events;
}

std::int64_t rows_differing(const TestDatabase& db, const std::string& left, const std::string& right) {
  return db.query_int("SELECT count(*) FROM ((TABLE " + left + " EXCEPT ALL TABLE " + right + ") UNION ALL (TABLE " +
                      right + " EXCEPT ALL TABLE " + left + ")) d");
}

// Rows that differ between the totals and history tables of the handlers named `left` and `right`.
std::int64_t models_differing(const TestDatabase& db, const std::string& left, const std::string& right) {
  return rows_differing(db, left + "_totals", right + "_totals") +
         rows_differing(db, left + "_history", right + "_history");
}

// A running-totals handler named `name` under test over `count` events, and the reference it must equal beside
// it: the same handler, named `single`, applying each event in a transaction of its own.
struct AgainstOneByOne {
  AgainstOneByOne(const std::string& name, int count)
      : connection(db.connect()),
        events(counted_events(count)),
        tested(ready_handler(*connection, running_totals_handler(name))),
        single(ready_handler(*connection, running_totals_handler("single"))),
        name(name) {}

  // Applies the reference, then counts the rows that differ from it.
  std::int64_t differing() {
    for (const Event& event : events) {
      pqxx::work txn(*connection);
      single->apply(txn, std::span(&event, 1));
      txn.commit();
    }
    return models_differing(db, name, "single");
  }

  TestDatabase db;
  std::unique_ptr<pqxx::connection> connection;
  const std::vector<Event> events;
  std::unique_ptr<handlers::ProjectionHandler> tested;
  std::unique_ptr<handlers::ProjectionHandler> single;
  std::string name;
};

}  // namespace

TEST_CASE("a sql handler's batch of many events in one pipeline leaves the read model that one at a time does") {
  AgainstOneByOne models("piped", 600);
  const TestDatabase& db = models.db;
  const std::vector<Event>& events = models.events;
  {
    pqxx::work txn(*models.connection);
    models.tested->apply(txn, events);
    txn.commit();
  }

  CHECK(db.query_int("SELECT count(*) FROM piped_history") == 540);
  CHECK(models.differing() == 0);
  // Each history row read the total its own event's upsert had just written.
  std::map<std::string, std::int64_t> totals;
  for (const Event& event : events) {
    const std::string& stream = event.stream_id;
    totals[stream] = event.type == "Reset" ? 0 : totals[stream] + event.position;
  }
  CHECK(db.query_int("SELECT total FROM piped_history WHERE position = 599") == totals["s4"]);
  CHECK(db.query_int("SELECT n FROM piped_totals WHERE stream = 's1'") == totals["s1"]);
}

TEST_CASE("a statement failing in the middle of a pipeline names its event, and libpqxx has the connection back") {
  TestDatabase db;
  auto connection = db.connect();
  auto projection = ready_handler(*connection, running_totals_handler("totals"));
  const std::vector<Event> events = poisoned_at_23(counted_events(50));

  pqxx::work failing(*connection);
  try {
    projection->apply(failing, events);
    FAIL("the batch was applied");
  } catch (const pqxx::sql_error& error) {
    CHECK(error.sqlstate() == "22P02");
    const std::string text = projectord::postgres::error_text(error);
    CHECK(text.find("invalid input syntax for type bigint") != std::string::npos);
    CHECK(text.find("(position 23, statement 1 on Counted)") != std::string::npos);
  }
  failing.abort();
  CHECK(db.query_int("SELECT count(*) FROM totals_history") == 0);

  pqxx::work next(*connection);
  projection->apply(next, std::span(events).first(22));
  next.exec("INSERT INTO totals_history VALUES (1000, 'marker', 0)");
  next.commit();
  CHECK(db.query_int("SELECT count(*) FROM totals_history") == 21);
}

TEST_CASE("a sql handler's live transactions send their statements with the COMMIT and leave the same read model") {
  AgainstOneByOne models("live", 100);
  const std::vector<Event>& events = models.events;
  for (std::size_t first = 0; first < events.size(); first += 4) {
    projectord::postgres::PipelinedCommit txn(*models.connection);
    models.tested->apply(txn, std::span(events).subspan(first, 4));
    // Nothing has gone out yet: the statements wait for the COMMIT's round trip.
    CHECK(txn.exec1("SELECT count(*) FROM live_history")[0].as<std::int64_t>() ==
          static_cast<std::int64_t>(first - first / 10));
    txn.commit();
  }
  CHECK(models.db.query_int("SELECT count(*) FROM live_history") == 90);
  CHECK(models.differing() == 0);
}

TEST_CASE("in a live transaction a sql handler's batch after queued statements is queued behind them") {
  AgainstOneByOne models("live", 100);
  {
    projectord::postgres::PipelinedCommit txn(*models.connection);
    models.tested->apply(txn, std::span(models.events).first(3));
    // Many events: on a pipeline of its own this batch would run before the first three.
    models.tested->apply(txn, std::span(models.events).subspan(3));
    CHECK(txn.exec1("SELECT count(*) FROM live_history")[0].as<std::int64_t>() == 0);
    txn.commit();
  }
  CHECK(models.differing() == 0);
}

TEST_CASE("a statement failing on a live transaction's COMMIT names its event, and nothing of it commits") {
  TestDatabase db;
  auto connection = db.connect();
  auto projection = ready_handler(*connection, running_totals_handler("totals"));
  const std::vector<Event> events = poisoned_at_23(counted_events(24));

  projectord::postgres::PipelinedCommit failing(*connection);
  projection->apply(failing, std::span(events).subspan(20, 4));
  try {
    failing.commit();
    FAIL("the transaction committed");
  } catch (const projectord::postgres::FailedBeforeCommit& error) {
    CHECK(error.sqlstate() == "22P02");
    CHECK(error.index == 4);  // the events at positions 21 and 22 ran two statements each
    CHECK(projectord::postgres::error_text(error).find("(position 23, statement 1 on Counted)") != std::string::npos);
  }
  CHECK(db.query_int("SELECT count(*) FROM totals_history") == 0);
}

TEST_CASE("a pipeline whose answers outgrow the socket buffers completes") {
  TestDatabase db;
  auto connection = db.connect();
  config::Handler handler = running_totals_handler("wide");
  handler.statements = {{.on = "Counted", .sql = "SELECT repeat('x', 8000), $1::bigint", .params = {"position"}}};
  auto projection = ready_handler(*connection, handler);
  const std::vector<Event> events = counted_events(2500);  // 2,250 answers of 8 kB each

  pqxx::work txn(*connection);
  projection->apply(txn, events);
  CHECK(txn.exec("SELECT 1")[0][0].as<int>() == 1);
  txn.commit();
}

TEST_CASE("a connection lost in the middle of a pipeline is the connection's fault, not the event's") {
  TestDatabase db;
  auto connection = db.connect();
  config::Handler handler = running_totals_handler("lost");
  handler.statements.push_back(
      {.on = "Reset", .sql = "SELECT pg_terminate_backend(pg_backend_pid()), $1::text", .params = {"stream_id"}});
  auto projection = ready_handler(*connection, handler);

  pqxx::work txn(*connection);
  try {
    projection->apply(txn, counted_events(30));
    FAIL("the batch was applied");
  } catch (const std::exception& error) {
    CHECK(projectord::postgres::is_transient(error));
  }
}

TEST_CASE("a poison event in a pipelined catch-up is dead-lettered at its position, the others applied once") {
  TestDatabase db;
  create_store(db);
  db.exec(
      "INSERT INTO events (stream_id, type, data) SELECT 's' || g % 7, 'Counted', jsonb_build_object('n',"
      " CASE WHEN g = 31 THEN to_jsonb('x'::text) ELSE to_jsonb(g) END) FROM generate_series(1, 60) g");
  config::Handler handler = running_totals_handler("caught_up");
  handler.on_error = config::OnError::dead_letter;
  RunningLane lane(db, generic_source(db), handler);

  REQUIRE(eventually([&] {
    return db.query_value("SELECT position FROM projectord.checkpoints WHERE handler = 'caught_up'") == "60";
  }));
  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters") == 1);
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters") == 31);
  CHECK(db.query_value("SELECT handler FROM projectord.dead_letters") == "caught_up");
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters").find("invalid input syntax for type bigint") !=
        std::string::npos);
  CHECK(db.query_int("SELECT count(*) FROM caught_up_history") == 59);
  CHECK(db.query_int("SELECT count(*) FROM caught_up_history WHERE position = 31") == 0);
  CHECK(db.query_int("SELECT sum(events) FROM caught_up_totals") == 59);
  CHECK(db.query_int("SELECT events_applied FROM projectord.checkpoints WHERE handler = 'caught_up'") == 59);
}

TEST_CASE("on_error = stop halts a pipelined catch-up just before the poison event, naming it and the handler") {
  TestDatabase db;
  create_store(db);
  db.exec(
      "INSERT INTO events (stream_id, type, data) SELECT 's' || g % 7, 'Counted', jsonb_build_object('n',"
      " CASE WHEN g = 31 THEN to_jsonb('x'::text) ELSE to_jsonb(g) END) FROM generate_series(1, 60) g");
  RunningLane lane(db, generic_source(db), running_totals_handler("halting"));

  REQUIRE(eventually([&] { return lane.status().state == projectord::LaneState::halted; }));
  CHECK(lane.status().halted_at == 31);
  const std::string error = lane.status().last_error;
  CHECK(error.find("handler halting") != std::string::npos);
  CHECK(error.find("position 31") != std::string::npos);
  CHECK(error.find("invalid input syntax for type bigint") != std::string::npos);
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'halting'") == 30);
  CHECK(db.query_int("SELECT count(*) FROM halting_history") == 30);
  CHECK(db.query_int("SELECT sum(events) FROM halting_totals") == 30);
}
