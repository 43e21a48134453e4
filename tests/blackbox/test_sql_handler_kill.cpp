// A sql handler's catch-up killed with SIGKILL: its statements travel in pipelines inside the transaction that
// moves the checkpoint, so what a killed transaction sent is rolled back with it, and the next run applies
// every event exactly once. Each event's two statements write a row keyed by its position and add one to its
// stream's count, so an event applied twice (or only half applied) shows.
#include <catch2/catch.hpp>
#include <csignal>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;
using namespace projectord::testing::blackbox;

namespace {

std::string sql_handler_config() {
  std::string text =
      "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n"
      "[sources.shop]\npreset = \"eventsourcing_django\"\napplication_name = \"Shop\"\n"
      "codec = \"eventsourcing_json_zlib\"\nbatch_size = 200\n\n"
      "[handlers.sql_log]\nkind = \"sql\"\n"
      "setup = \"CREATE TABLE IF NOT EXISTS sql_log (position bigint PRIMARY KEY, stream text NOT NULL);"
      " CREATE TABLE IF NOT EXISTS sql_counts (stream text PRIMARY KEY, events bigint NOT NULL)\"\n";
  for (const char* type : {"UserRegistered", "UserEmailChanged", "UserProfileUpdated", "UserDeactivated"}) {
    text += std::string("\n[[handlers.sql_log.statements]]\non = \"") + type +
            "\"\nsql = \"INSERT INTO sql_log (position, stream) VALUES ($1::bigint, $2)\"\n"
            "params = [\"position\", \"stream_id\"]\n"
            "\n[[handlers.sql_log.statements]]\non = \"" +
            type +
            "\"\nsql = \"INSERT INTO sql_counts VALUES ($1, 1) ON CONFLICT (stream) DO UPDATE"
            " SET events = sql_counts.events + 1\"\nparams = [\"stream_id\"]\n";
  }
  return text;
}

}  // namespace

TEST_CASE("kill -9 in the middle of a sql handler's pipelined catch-up loses nothing and applies nothing twice") {
  TestDatabase db;
  write_events(db, 20000, 50);
  const std::int64_t total = db.query_int("SELECT count(*) FROM stored_events");
  const std::string config = migrated(db, "sql_kill.toml", sql_handler_config());

  {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    REQUIRE(eventually([&] {
      return db.query_int("SELECT coalesce(max(position), 0) FROM projectord.checkpoints WHERE handler = 'sql_log'") >
             0;
    }));
    daemon.signal(SIGKILL);
    REQUIRE(daemon.wait_exit(10s));
  }
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'sql_log'") < total);

  REQUIRE(run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code == 0);
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'sql_log'") == head(db));
  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters") == 0);
  CHECK(db.query_int("SELECT count(*) FROM sql_log") == total);
  CHECK(db.query_int("SELECT sum(events) FROM sql_counts") == total);
  CHECK(db.query_int("SELECT count(*) FROM sql_counts c JOIN (SELECT stream, count(*) AS n FROM sql_log GROUP BY"
                     " stream) l USING (stream) WHERE c.events <> l.n") == 0);
}
