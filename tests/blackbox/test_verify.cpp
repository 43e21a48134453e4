// `projectord verify HANDLER` against the running daemon's read models as a black box: an untouched model is
// equal to its events' rebuild, while the daemon and a writer go on; a tampered one is named row by row.
#include <catch2/catch.hpp>
#include <csignal>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

bool caught_up(const TestDatabase& db) {
  return checkpoint(db, "users") == head(db) && checkpoint(db, "user_log") == head(db);
}

projectord::testing::RunResult verify(const TestDatabase& db, const std::string& config, const std::string& handler) {
  return run_command({kBinary, "--config", config, "verify", handler}, env_for(db), 120s);
}

bool says(const projectord::testing::RunResult& result, const std::string& text) {
  return result.output.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("verify finds untouched read models equal while the daemon runs and a writer writes") {
  TestDatabase db;
  write_events(db, 600);
  const std::string config = migrated(db, "verify.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return caught_up(db); }));

  DaemonProcess writer({kWriter, "--url", db.url(), "--events", "2000", "--zlib", "--per-transaction", "2"}, {});
  for (const std::string handler : {"users", "user_log"}) {
    const auto verified = verify(db, config, handler);
    INFO(verified.output);
    CHECK(verified.exit_code == 0);
    CHECK(says(verified, "verify " + handler + ": rebuilt from "));
    CHECK(says(verified, "0 missing, 0 extra, 0 differing"));
    CHECK(says(verified, "equal: the live read model is what its events make it"));
  }
  REQUIRE(writer.wait_exit(60s) == 0);
  REQUIRE(eventually([&] { return caught_up(db); }));
  CHECK(verify(db, config, "users").exit_code == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projectord\\_v\\_%'") == 0);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("verify names the updated, deleted and inserted rows of a tampered read model and exits 1") {
  TestDatabase db;
  write_events(db, 300);
  const std::string config = migrated(db, "verify-tampered.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return caught_up(db); }));

  const std::string updated = db.query_value("SELECT user_id FROM user_projection ORDER BY user_id LIMIT 1");
  const std::string deleted = db.query_value("SELECT user_id FROM user_projection ORDER BY user_id DESC LIMIT 1");
  REQUIRE(updated != deleted);
  db.exec("UPDATE user_projection SET email = 'tampered@example.com' WHERE user_id = '" + updated + "';"
          "DELETE FROM user_projection WHERE user_id = '" + deleted + "';"
          "INSERT INTO user_projection (user_id, username, email, first_name, last_name, phone, is_active,"
          " created_at, updated_at, current_version, last_event_processed) VALUES ('intruder', E'in\\x1btruder',"
          " 'i@example.com', 'I', 'N', '', true, now(), now(), 1, 1)");

  const auto verified = verify(db, config, "users");
  INFO(verified.output);
  CHECK(verified.exit_code == 1);
  CHECK(says(verified, "(rows paired by user_id)"));
  CHECK(says(verified, "1 missing, 1 extra, 1 differing"));
  CHECK(says(verified, "the first 3 of 3 differences"));
  CHECK(says(verified, "differs {\\\"user_id\\\": \\\"" + updated + "\\\"}: email live \\\"tampered@example.com\\\""));
  CHECK(says(verified, "missing {\\\"user_id\\\": \\\"" + deleted + "\\\"}"));
  CHECK(says(verified, "extra   {\\\"user_id\\\": \\\"intruder\\\"}"));
  CHECK(!says(verified, "\x1b"));
  CHECK(says(verified, "DIFFERENT"));

  const auto untouched = verify(db, config, "user_log");
  INFO(untouched.output);
  CHECK(untouched.exit_code == 0);
  CHECK(says(untouched, "(rows paired by their values)"));
  CHECK(verify(db, config, "nope").exit_code == 2);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
