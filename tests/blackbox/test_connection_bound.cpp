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

bool all_at_head(const TestDatabase& db) { return checkpoints_at_head(db) == 2 * kCopies; }

}  // namespace

TEST_CASE("a hundred handlers catch up and go live on ten connections, and the server never sees more") {
  const LoginRole role;  // before the database: dropped after it, with what it was granted there
  TestDatabase db;
  write_events(db, 300);
  const std::string config = migrated(db, "connection-bound.toml", with_max_connections(demo_copies(kCopies), kBound));
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
  CHECK(inexact_copies(db, kCopies) == 0);
}
