// A hundred handlers under [database] max_connections = 10: they catch up and go live, and the server never
// sees more than ten connections from the daemon, which takes turns on them rather than opening new ones. Its
// role's CONNECTION LIMIT is ten too, so an eleventh would be refused (and logged) even between two samples.
#include <signal.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

constexpr int kCopies = 50;  // of the demo's two handlers: a hundred
constexpr int kBound = 10;

std::string hundred_handlers() {
  std::string config = with_max_connections(demo_config("_0"), kBound);
  for (int copy = 1; copy < kCopies; ++copy) {
    const std::string more = demo_config("_" + std::to_string(copy));
    config += more.substr(more.find("\n[handlers."));
  }
  return config;
}

bool all_at_head(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE position = (SELECT max(id) FROM stored_events)") ==
         2 * kCopies;
}

}  // namespace

TEST_CASE("a hundred handlers catch up and go live on ten connections, and the server never sees more") {
  const LoginRole role;  // before the database: dropped after it, with what it was granted there
  TestDatabase db;
  write_events(db, 300);
  const std::string config = migrated(db, "connection-bound.toml", hundred_handlers());
  grant_printed(db, config, role);
  db.exec("ALTER ROLE " + role.name() + " CONNECTION LIMIT " + std::to_string(kBound));

  std::atomic<bool> done{false};
  std::int64_t most = 0;
  std::set<int> backends;  // every backend of the daemon's seen: a connection opened again has a new one
  std::jthread sampler([&] {
    const auto admin = db.connect();
    while (!done) {
      pqxx::nontransaction txn(*admin);
      const pqxx::result seen = txn.exec_params("SELECT pid FROM pg_stat_activity WHERE usename = $1", role.name());
      most = std::max<std::int64_t>(most, static_cast<std::int64_t>(seen.size()));
      for (const auto& row : seen) backends.insert(row[0].as<int>());
    }
  });
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_as(role, db));
  const bool caught_up = eventually([&] { return all_at_head(db); }, 180s, 100ms);
  INFO(daemon.log());
  REQUIRE(caught_up);

  write_events(db, 60);
  CHECK(eventually([&] { return all_at_head(db); }, 60s, 50ms));
  done = true;
  sampler.join();

  CHECK(most > 0);
  CHECK(most <= kBound);
  // Lanes take turns on the connections rather than opening new ones: a few at start-up beside the bound.
  CHECK(backends.size() <= 2 * kBound);
  CHECK(daemon.log().find("too many connections") == std::string::npos);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);  // lanes waiting for connections stop too
  // Every copy's log holds each event once (in one query), and every copy's users model equals the first's.
  std::string wrong_logs = "SELECT 0";
  for (int copy = 0; copy < kCopies; ++copy) {
    wrong_logs += " + (SELECT count(*) <> (SELECT max(id) FROM stored_events) OR count(DISTINCT global_position) <>"
                  " count(*) FROM user_event_log_" + std::to_string(copy) + ")::int";
  }
  CHECK(db.query_int(wrong_logs) == 0);
  for (int copy = 1; copy < kCopies; ++copy) {
    INFO("copy " << copy);
    CHECK(users_differences(db, "user_projection_0", "user_projection_" + std::to_string(copy)) == 0);
  }
}
