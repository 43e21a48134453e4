// A lane against a real PostgreSQL: catch-up, live tailing, holes (out-of-order commits, rollbacks, long
// transactions, concurrent writers) and poison events. The sql handler used here inserts each event's
// position into a table whose primary key turns a double application into an error.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "checkpoints/leases.hpp"
#include "checkpoints/schema.hpp"
#include "sources/postgres/table_source.hpp"
#include "daemon/lane.hpp"
#include "handlers/registry.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::testing::eventually;
using projectord::testing::create_store;
using projectord::testing::generic_source;
using projectord::testing::insert_event;
using projectord::testing::insert_events;
using projectord::testing::RunningLane;
using projectord::testing::TestDatabase;
namespace config = projectord::config;

namespace {

config::Handler applied_log_handler(const std::string& name = "applied_log") {
  config::Handler handler;
  handler.name = name;
  handler.kind = "sql";
  handler.source = "store";
  handler.max_attempts = 2;
  handler.retry_backoff = 1ms;
  handler.retry_backoff_max = 2ms;
  handler.setup = "CREATE TABLE IF NOT EXISTS " + name + " (position bigint PRIMARY KEY, n integer)";
  handler.statements.push_back(
      {.on = "Counted", .sql = "INSERT INTO " + name + " (position, n) VALUES ($1, $2::integer)",
       .params = {"position", "data.n"}, .line = 1});
  return handler;
}

// Inserts an event in a transaction that rolls back: its position is consumed, a permanent hole.
void insert_and_roll_back(const TestDatabase& db, int n) {
  pqxx::connection connection(db.url());
  pqxx::work aborted(connection);
  aborted.exec(insert_event(n));
  aborted.abort();
}

// Rows in a read model the lane creates itself: -1 until the lane's setup has run.
std::int64_t rows_in(const TestDatabase& db, const std::string& table) {
  try {
    return db.query_int("SELECT count(*) FROM " + table);
  } catch (const pqxx::undefined_table&) {
    return -1;
  }
}

// A catch-up of positions 1..40 where 23 is poison: the handler gets past it to 40, 23 is dead-lettered and
// every other event applied once.
void check_caught_up_past_dead_letter_23(const TestDatabase& db, const std::string& handler, const std::string& table) {
  REQUIRE(eventually([&] {
    return db.query_value("SELECT position FROM projectord.checkpoints WHERE handler = '" + handler + "'") == "40";
  }));
  CHECK(rows_in(db, table) == 39);
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters") == 23);
  CHECK(db.query_int("SELECT events_applied FROM projectord.checkpoints WHERE handler = '" + handler + "'") == 39);
}

}  // namespace

TEST_CASE("a lane catches up on existing events and then follows new ones") {
  TestDatabase db;
  create_store(db);
  for (int i = 1; i <= 250; ++i) db.exec(insert_event(i));
  RunningLane lane(db, generic_source(db), applied_log_handler());

  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 250; }));
  db.exec(insert_event(251));
  lane.wake();
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 251; }));
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'applied_log'") == 251);
  CHECK(db.query_int("SELECT sum(n) FROM applied_log") == 251 * 252 / 2);
}

TEST_CASE("a lane does not pass a position whose transaction is still open, then applies it in order") {
  TestDatabase db;
  create_store(db);
  pqxx::connection slow_writer(db.url());
  pqxx::work slow(slow_writer);
  slow.exec(insert_event(1));  // takes id 1, not committed yet
  db.exec(insert_event(2));    // id 2 commits first

  RunningLane lane(db, generic_source(db), applied_log_handler());
  REQUIRE(eventually([&] { return lane.status().state == projectord::LaneState::waiting_for_hole; }));
  CHECK(rows_in(db, "applied_log") == 0);

  slow.commit();
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 2; }));
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'applied_log'") == 2);
}

TEST_CASE("a rolled-back insert leaves a permanent hole that the lane passes after the grace") {
  TestDatabase db;
  create_store(db);
  insert_and_roll_back(db, 1);  // leaves a permanent hole
  db.exec(insert_event(2));
  RunningLane lane(db, generic_source(db), applied_log_handler());
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 1; }));
  CHECK(db.query_int("SELECT position FROM applied_log") == 2);
}

TEST_CASE("a long transaction holds its hole open until it ends, and the lane resumes at once after") {
  TestDatabase db;
  create_store(db);
  pqxx::connection holder_connection(db.url());
  auto holder = std::make_unique<pqxx::work>(holder_connection);
  holder->exec(insert_event(1));
  for (int i = 2; i <= 20; ++i) db.exec(insert_event(i));

  RunningLane lane(db, generic_source(db), applied_log_handler());
  REQUIRE(eventually([&] { return lane.status().state == projectord::LaneState::waiting_for_hole; }));
  // Well past the grace, the open transaction still holds the hole: nothing may be applied past it.
  REQUIRE(eventually([&] { return lane.status().oldest_hole_wait >= 4 * 50ms; }));
  CHECK(lane.status().state == projectord::LaneState::waiting_for_hole);
  CHECK(lane.status().blocking_xmin > 0);
  CHECK(rows_in(db, "applied_log") == 0);

  SECTION("the owner commits") {
    holder->commit();
    REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 20; }));
  }
  SECTION("the owner rolls back") {
    holder->abort();
    REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 19; }));
    CHECK(db.query_int("SELECT min(position) FROM applied_log") == 2);
  }
}

TEST_CASE("concurrent writers with out-of-order commits and rollbacks: the read model equals a replay") {
  TestDatabase db;
  create_store(db);
  RunningLane lane(db, generic_source(db), applied_log_handler());

  constexpr int kWriters = 4;
  constexpr int kTransactionsPerWriter = 60;
  std::vector<std::jthread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&db, w] {
      std::minstd_rand random(static_cast<unsigned>(w + 1));
      pqxx::connection connection(db.url());
      for (int t = 0; t < kTransactionsPerWriter; ++t) {
        pqxx::work txn(connection);
        const int events = 1 + static_cast<int>(random() % 4);
        for (int e = 0; e < events; ++e) txn.exec(insert_event(w * 1000 + t));
        // Hold some transactions open a little so that later ids commit first.
        if (random() % 3 == 0) txn.exec("SELECT pg_sleep(0.01)");
        if (random() % 5 == 0) {
          txn.abort();
        } else {
          txn.commit();
        }
      }
    });
  }
  writers.clear();  // joins

  const auto committed = rows_in(db, "events");
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == committed; }));
  CHECK(db.query_int("SELECT count(*) FROM events e LEFT JOIN applied_log a ON a.position = e.id "
                     "WHERE a.position IS NULL OR a.n <> (e.data->>'n')::integer") == 0);
}

TEST_CASE("a poison event goes to the dead letters and the handler carries on") {
  TestDatabase db;
  create_store(db);
  db.exec(insert_event(1));
  db.exec("INSERT INTO events (stream_id, type, data) VALUES ('s', 'Counted', '{\"n\": \"not a number\"}')");
  db.exec(insert_event(3));
  auto handler = applied_log_handler();
  handler.on_error = config::OnError::dead_letter;
  RunningLane lane(db, generic_source(db), handler);

  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 2; }));
  REQUIRE(eventually([&] { return db.query_int("SELECT count(*) FROM projectord.dead_letters") == 1; }));
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters") == 2);
  CHECK(db.query_int("SELECT attempts FROM projectord.dead_letters") == 2);
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters").find("invalid input syntax") != std::string::npos);
  REQUIRE(eventually(
      [&] { return db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'applied_log'") == 3; }));
}

TEST_CASE("on_error = stop halts only that handler, before the poison event") {
  TestDatabase db;
  create_store(db);
  db.exec(insert_event(1));
  db.exec("INSERT INTO events (stream_id, type, data) VALUES ('s', 'Counted', '{\"n\": \"x\"}')");
  db.exec(insert_event(3));
  RunningLane stopping(db, generic_source(db), applied_log_handler("strict_log"));
  auto tolerant = applied_log_handler("tolerant_log");
  tolerant.on_error = config::OnError::dead_letter;
  RunningLane going_on(db, generic_source(db), tolerant);

  REQUIRE(eventually([&] { return stopping.status().state == projectord::LaneState::halted; }));
  CHECK(stopping.status().last_error.find("position 2") != std::string::npos);
  CHECK(stopping.status().last_error.find("strict_log") != std::string::npos);
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'strict_log'") == 1);
  REQUIRE(eventually([&] { return rows_in(db, "tolerant_log") == 2; }));
}

TEST_CASE("a payload that is not JSON is a poison event, not a crash") {
  TestDatabase db;
  db.exec("CREATE TABLE events (id bigserial PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL, data text)");
  {
    pqxx::connection connection(db.url());
    pqxx::work txn(connection);
    for (const std::string& sql : projectord::checkpoints::install_schema_sql()) txn.exec(sql);
    txn.commit();
  }
  db.exec(
      "INSERT INTO events (stream_id, type, data) VALUES ('s', 'Counted', '{\"n\": 1}'), ('s', 'Counted', '{oops'),"
      " ('s', 'Counted', '{\"n\": 3}')");
  auto handler = applied_log_handler();
  handler.on_error = config::OnError::dead_letter;
  RunningLane lane(db, generic_source(db), handler);
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 2; }));
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters WHERE position = 2").find("position 2") !=
        std::string::npos);
}

TEST_CASE("a poison event inside a catch-up spanning several reads is isolated and the rest applied once") {
  TestDatabase db;
  create_store(db);
  for (int i = 1; i <= 40; ++i) {
    db.exec(i == 23 ? "INSERT INTO events (stream_id, type, data) VALUES ('s', 'Counted', '{\"n\": \"x\"}')"
                    : insert_event(i));
  }
  auto source = generic_source(db);
  source.batch_size = 3;  // 40 events: many full reads, so transactions span several of them
  auto handler = applied_log_handler();
  handler.on_error = config::OnError::dead_letter;
  RunningLane lane(db, source, handler);

  check_caught_up_past_dead_letter_23(db, "applied_log", "applied_log");
}

TEST_CASE("a folding handler's transaction that fails while the next one is folded is replayed carefully") {
  // The users handler writes a transaction's folds in the background while the lane folds the next one: the
  // INSERT of a username longer than the model's 150 characters fails there, after the lane has read on.
  TestDatabase db;
  create_store(db);
  for (int i = 1; i <= 40; ++i) {
    const std::string user = "u" + std::to_string(i);
    const std::string username = i == 23 ? std::string(200, 'x') : user;
    db.exec("INSERT INTO events (stream_id, type, data) VALUES ('" + user + "', 'UserRegistered', '{\"username\": \"" +
            username + "\", \"email\": \"" + user + "@example.com\"}')");
  }
  auto source = generic_source(db);
  source.batch_size = 3;
  config::Handler handler;
  handler.name = "users";
  handler.kind = "users";
  // Transactions of a few users each, so that one is written while another folds.
  handler.options["fold_memory"] = std::int64_t{4} << 10;
  handler.source = "store";
  handler.table = "user_projection";
  handler.max_attempts = 1;
  handler.on_error = config::OnError::dead_letter;
  RunningLane lane(db, source, handler);

  check_caught_up_past_dead_letter_23(db, "users", "user_projection");
  CHECK(db.query_int("SELECT count(*) FROM user_projection WHERE username = 'u' || last_event_processed") == 39);
}

TEST_CASE("a hole passed after max_hole_wait is re-read, and a row that commits there later is applied") {
  TestDatabase db;
  create_store(db);
  pqxx::connection holder_connection(db.url());
  pqxx::work holder(holder_connection);
  holder.exec(insert_event(1));  // takes position 1 and holds it
  db.exec(insert_event(2));
  auto source = generic_source(db);
  source.max_hole_wait = 200ms;
  source.hole_recheck = 60s;
  RunningLane lane(db, source, applied_log_handler());

  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 1; }));
  // The status is published after the batch's commit: a read right after the row shows up may precede it.
  CHECK(eventually([&] { return lane.status().forced_hole_skips == 1; }));
  CHECK(db.query_value("SELECT holes ? '1' FROM projectord.checkpoints WHERE handler = 'applied_log'") == "t");

  holder.commit();
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 2; }));
  CHECK(lane.status().late_arrivals == 1);
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'applied_log'") == 2);
  REQUIRE(eventually([&] {
    return db.query_value("SELECT holes::text FROM projectord.checkpoints WHERE handler = 'applied_log'") == "{}";
  }));
}

TEST_CASE("a rolled-back hole is forgotten once hole_recheck has passed") {
  TestDatabase db;
  create_store(db);
  db.exec(insert_event(1));
  RunningLane lane(db, generic_source(db), applied_log_handler());
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 1; }));
  insert_and_roll_back(db, 2);  // leaves a permanent hole
  db.exec(insert_event(3));
  lane.wake();
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 2; }));
  CHECK(db.query_value("SELECT holes ? '2' FROM projectord.checkpoints WHERE handler = 'applied_log'") == "t");
  REQUIRE(eventually([&] {
    return db.query_value("SELECT holes::text FROM projectord.checkpoints WHERE handler = 'applied_log'") == "{}";
  }));
  CHECK(lane.status().late_arrivals == 0);
}

TEST_CASE("a hole that expires during a catch-up spanning several reads causes no reconnect") {
  TestDatabase db;
  create_store(db);
  auto source = generic_source(db);
  source.batch_size = 3;
  source.hole_recheck = 100ms;
  RunningLane lane(db, source, applied_log_handler());
  db.exec(insert_event(1));
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 1; }));
  insert_and_roll_back(db, 2);  // leaves a permanent hole
  db.exec(insert_event(3));
  lane.wake();
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 2; }));

  // Two thousand reads of three: the hole expires (and is forgotten, in a commit) while a catch-up
  // transaction is open.
  insert_events(db, 4, 6000);
  lane.wake();
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 5999; }));
  CHECK(db.query_value("SELECT holes::text FROM projectord.checkpoints WHERE handler = 'applied_log'") == "{}");
  CHECK(lane.status().reconnects == 0);
}

TEST_CASE("a hole forced past during a catch-up is re-read too, and its late row applied") {
  TestDatabase db;
  create_store(db);
  pqxx::connection holder_connection(db.url());
  pqxx::work holder(holder_connection);
  holder.exec(insert_event(1));  // takes position 1 and holds it
  insert_events(db, 2, 40);
  auto source = generic_source(db);
  source.batch_size = 3;  // full reads: a catch-up
  source.max_hole_wait = 200ms;
  source.hole_recheck = 60s;
  RunningLane lane(db, source, applied_log_handler());

  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 39; }));
  CHECK(lane.status().forced_hole_skips >= 1);
  holder.commit();
  REQUIRE(eventually([&] { return rows_in(db, "applied_log") == 40; }));
  CHECK(lane.status().late_arrivals == 1);
}

TEST_CASE("a lane stands by while another process holds its handler's lease, and takes over once it is released") {
  TestDatabase db;
  create_store(db);
  insert_events(db, 1, 50);
  const projectord::checkpoints::LeaseOwner elsewhere{"elsewhere:1:1", "elsewhere", 1};
  const auto connection = db.connect();
  const auto held = projectord::checkpoints::take_lease(*connection, "applied_log", elsewhere, 60s);
  REQUIRE(held.epoch);

  RunningLane lane(db, generic_source(db), applied_log_handler());
  REQUIRE(eventually([&] { return lane.status().last_error.find("standing by") != std::string::npos; }));
  CHECK(lane.status().position == 0);  // it never loaded the checkpoint, let alone applied anything
  REQUIRE(lane.status().ownership);
  CHECK_FALSE(lane.status().ownership->this_process);
  CHECK(lane.status().ownership->host == "elsewhere");

  projectord::checkpoints::release_lease(*connection, "applied_log", elsewhere, *held.epoch);
  REQUIRE(eventually([&] { return lane.status().position == 50; }));
  CHECK(rows_in(db, "applied_log") == 50);
  CHECK(lane.status().ownership->this_process);
  CHECK(db.query_int("SELECT epoch FROM projectord.leases WHERE name = 'applied_log'") == 2);
}

TEST_CASE("an event_log lane's live rows ride on the COMMIT, and a row its table refuses is dead-lettered alone") {
  TestDatabase db;
  create_store(db);
  config::Handler handler;
  handler.name = "user_log";
  handler.kind = "event_log";
  handler.table = "user_event_log";
  handler.source = "store";
  handler.max_attempts = 2;
  handler.retry_backoff = 1ms;
  handler.retry_backoff_max = 2ms;
  handler.on_error = config::OnError::dead_letter;
  RunningLane lane(db, generic_source(db), handler);
  REQUIRE(eventually([&] { return rows_in(db, "user_event_log") == 0; }));

  db.exec(insert_event(1));
  // user_id is a varchar(255): the server refuses this row only when the statement sent with the COMMIT runs.
  db.exec("INSERT INTO events (stream_id, type, data) VALUES (repeat('s', 256), 'Counted', '{\"n\": 2}')");
  db.exec(insert_event(3));
  REQUIRE(eventually(
      [&] { return db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'user_log'") == 3; }));
  CHECK(db.query_int("SELECT count(*) FROM user_event_log WHERE global_position IN (1, 3)") == 2);
  CHECK(rows_in(db, "user_event_log") == 2);
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters") == 2);
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters").find("too long") != std::string::npos);
  CHECK(db.query_int("SELECT events_applied FROM projectord.checkpoints WHERE handler = 'user_log'") == 2);
}
