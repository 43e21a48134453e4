// Blue/green rebuilds of the running daemon as a black box: under a steady write load, through each of its
// triggers, and through kill -9 during the replay and during the swap.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <pqxx/pqxx>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/store_schemas.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::event_store_record_ddl;
using projectord::testing::eventually;
using projectord::testing::http_request;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

// The demo's handlers plus `users_check`: the same users read model, never rebuilt, to compare with.
// Small batches make the replay take many transactions.
std::string rebuild_config(const std::string& users_extra = "") {
  std::string config = demo_config("", "batch_size = 200\n");
  const std::string users_header = "[handlers.users]\n";
  config.insert(config.find(users_header) + users_header.size(), users_extra);
  return config + "\n[handlers.users_check]\nkind = \"users\"\ntable = \"user_projection_check\"\n";
}

std::int64_t table_oid(const TestDatabase& db) { return db.query_int("SELECT 'user_projection'::regclass::oid"); }

// Rebuilds the daemon has swapped in so far (a request returns before its rebuild has begun).
std::size_t swaps(const DaemonProcess& daemon) {
  const std::string log = daemon.log();
  const std::string marker = "event=rebuild_ended swapped=true";
  std::size_t count = 0;
  for (auto at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) ++count;
  return count;
}

bool rebuild_recorded(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.rebuilds WHERE handler = 'users'") == 1;
}

// Everything a finished rebuild leaves: the swapped model equal to the never-rebuilt one, at the head, and no
// trace of the rebuild.
void check_swapped(const TestDatabase& db) {
  REQUIRE(eventually([&] { return !rebuild_recorded(db); }, 60s));
  REQUIRE(eventually([&] {
    return checkpoint(db, "users") == head(db) && checkpoint(db, "users_check") == head(db);
  }));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(db.query_int("SELECT count(*) FROM user_projection") > 0);
  // Built in the shadow once its replay caught up, moved in with it: the constraints' three and six for readers.
  CHECK(db.query_int("SELECT count(*) FROM pg_indexes WHERE tablename = 'user_projection' AND schemaname = 'public'") ==
        9);
  CHECK(checkpoint(db, "users:rebuild") == -1);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projectord\\_%\\_users'") == 0);
}

}  // namespace

TEST_CASE("rebuild under a steady write load swaps in a model equal to one never rebuilt, with every write") {
  TestDatabase db;
  write_events(db, 5000);
  const std::string config = migrated(db, "rebuild.toml", rebuild_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  const unsigned short port = http_port(daemon);
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db); }));
  const auto old_table = table_oid(db);

  // A writer appends 3,000 more events while the rebuild replays and swaps.
  DaemonProcess writer({kWriter, "--url", db.url(), "--events", "3000", "--zlib", "--per-transaction", "2"}, {});
  const auto accepted = http_request("127.0.0.1", port, "POST", "/admin/rebuild/users");
  REQUIRE(accepted.status == 202);
  CHECK(http_request("127.0.0.1", port, "POST", "/admin/rebuild/users_nope").status == 404);
  REQUIRE(eventually([&] { return daemon.log().find("handler=users event=rebuild_requested") != std::string::npos; }));
  REQUIRE(writer.wait_exit(60s) == 0);
  REQUIRE(eventually([&] { return swaps(daemon) == 1; }, 60s));
  check_swapped(db);
  CHECK(table_oid(db) != old_table);  // a new table took the name
  const auto status = boost::json::parse(http_request("127.0.0.1", port, "GET", "/status").body);
  for (const auto& handler : status.at("handlers").as_array()) CHECK(handler.at("rebuild").is_null());

  // The live lane after the swap goes on from the swapped checkpoint.
  write_events(db, 30);
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db) && checkpoint(db, "users_check") == head(db); }));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("the CLI, SIGUSR1 (handlers marked rebuild_on_signal) and NOTIFY projectord_control each trigger a rebuild") {
  TestDatabase db;
  write_events(db, 500);
  const std::string allowed = db.query_value("SELECT current_user");
  const std::string config =
      migrated(db, "rebuild-triggers.toml",
               rebuild_config("rebuild_on_signal = true\n") + "\n[control]\nnotify = true\nallowed_roles = [\"" +
                   allowed + "\"]\n");
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db); }));

  const std::string endpoint = "127.0.0.1:" + std::to_string(http_port(daemon));
  const auto by_cli = run_command({kBinary, "--config", config, "rebuild", "users", "--http", endpoint}, env_for(db));
  CHECK(by_cli.exit_code == 0);
  CHECK(by_cli.output.find("users: rebuilding") != std::string::npos);
  REQUIRE(eventually([&] { return swaps(daemon) == 1; }, 60s));
  CHECK(daemon.log().find("requested_by=http") != std::string::npos);
  check_swapped(db);
  const auto first_swap = table_oid(db);

  daemon.signal(SIGUSR1);
  REQUIRE(eventually([&] { return swaps(daemon) == 2; }, 60s));
  CHECK(daemon.log().find("requested_by=SIGUSR1") != std::string::npos);
  CHECK(table_oid(db) != first_swap);
  check_swapped(db);
  // users_check is not marked: SIGUSR1 left it alone.
  CHECK(daemon.log().find("handler=users_check event=rebuild") == std::string::npos);
  const auto second_swap = table_oid(db);

  // The sender stays connected: the daemon looks its role up when the notification arrives.
  const auto sender = db.connect();
  pqxx::nontransaction notify(*sender);
  notify.exec("SELECT pg_notify('projectord_control', 'frobnicate users')");
  REQUIRE(eventually([&] { return daemon.log().find("reason=\"unknown action 'frobnicate'") != std::string::npos; }));
  notify.exec("SELECT pg_notify('projectord_control', 'rebuild users')");
  REQUIRE(eventually([&] { return swaps(daemon) == 3; }, 60s));
  CHECK(daemon.log().find("requested_by=notify") != std::string::npos);
  CHECK(table_oid(db) != second_swap);
  check_swapped(db);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("kill -9 during a rebuild's replay resumes it at restart, kill -9 during its swap rolls the swap back") {
  TestDatabase db;
  write_events(db, 20000, 50);
  // A replay of several transactions, so that the kill finds its checkpoint past 0 and short of the head.
  const std::string config = migrated(db, "rebuild-crash.toml", rebuild_config("fold_memory = \"1MiB\"\n"));
  const auto old_table = [&] {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
    REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db); }, 60s));
    const auto oid = table_oid(db);
    REQUIRE(http_request("127.0.0.1", http_port(daemon), "POST", "/admin/rebuild/users").status == 202);
    REQUIRE(eventually([&] { return checkpoint(db, "users:rebuild") > 0; }));
    daemon.signal(SIGKILL);
    REQUIRE(daemon.wait_exit(20s).has_value());
    return oid;
  }();
  REQUIRE(rebuild_recorded(db));
  const auto replayed = checkpoint(db, "users:rebuild");
  REQUIRE(replayed < head(db));  // killed in the middle of the replay
  CHECK(table_oid(db) == old_table);
  const auto status = run_command({kBinary, "--config", config, "status"}, env_for(db));
  CHECK(status.output.find("\nusers ") != std::string::npos);
  CHECK(status.output.find("users: rebuild in progress at position " + std::to_string(replayed) +
                           ", requested by http at ") != std::string::npos);

  // A reader holding the live table keeps the resumed rebuild's swap waiting for its lock: kill -9 there.
  auto reader = db.connect();
  auto holding = std::make_unique<pqxx::work>(*reader);
  holding->exec0("LOCK TABLE user_projection IN ACCESS SHARE MODE");
  {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    REQUIRE(eventually([&] {
      return daemon.log().find("checkpoint=users:rebuild position=" + std::to_string(replayed)) != std::string::npos;
    }));  // resumed from its shadow checkpoint, not from 0
    REQUIRE(eventually(
        [&] {
          return db.query_int("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                              " AND query LIKE 'ALTER TABLE%' AND datname = current_database()") == 1;
        },
        60s));
    daemon.signal(SIGKILL);
    REQUIRE(daemon.wait_exit(20s).has_value());
  }
  holding->abort();  // the orphaned swap gets its lock, then fails on the lost client: it never commits
  REQUIRE(eventually([&] {
    return db.query_int("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE%'"
                        " AND datname = current_database()") == 0;
  }));
  CHECK(rebuild_recorded(db));
  CHECK(table_oid(db) == old_table);

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  check_swapped(db);
  CHECK(table_oid(db) != old_table);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a throttled rebuild replays no faster than its max_rate and reports it in /status") {
  TestDatabase db;
  write_events(db, 3000);
  const std::string config = migrated(db, "rebuild-throttled.toml", rebuild_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  const unsigned short port = http_port(daemon);
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db); }));

  const auto requested = std::chrono::steady_clock::now();
  const std::string endpoint = "127.0.0.1:" + std::to_string(port);
  REQUIRE(run_command({kBinary, "--config", config, "rebuild", "users", "--max-rate", "1500", "--http", endpoint},
                      env_for(db))
              .exit_code == 0);
  std::int64_t reported_rate = -1;
  REQUIRE(eventually([&] {
    const auto status = boost::json::parse(http_request("127.0.0.1", port, "GET", "/status").body);
    for (const auto& handler : status.at("handlers").as_array()) {
      if (handler.at("name").as_string() == "users" && !handler.at("rebuild").is_null()) {
        reported_rate = handler.at("rebuild").at("max_rate").as_int64();
        return true;
      }
    }
    return false;
  }));
  CHECK(reported_rate == 1500);
  REQUIRE(eventually([&] { return swaps(daemon) == 1; }, 60s));
  // 3,000 events at 1,500/s: two seconds at least (a slow machine only makes it longer).
  CHECK(std::chrono::steady_clock::now() - requested >= 1900ms);
  check_swapped(db);
  CHECK(run_command({kBinary, "--config", config, "rebuild", "users", "--max-rate", "fast"}, env_for(db)).exit_code == 2);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

namespace {

// Threads of `pid` whose nice value is `nice` (/proc/PID/task/TID/stat, field 19).
int threads_at_nice(pid_t pid, int nice) {
  int count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto after_name = stat.rfind(')');
    if (after_name == std::string::npos) continue;  // the thread ended while we looked
    std::istringstream fields(stat.substr(after_name + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19 && std::stoi(field) == nice) ++count;
    }
  }
  return count;
}

}  // namespace

TEST_CASE("a rebuild lane yields the CPU (nice 10) from the first write of its source on, not before") {
  TestDatabase db;
  write_events(db, 3000);
  const std::string config = migrated(db, "rebuild-nice.toml", rebuild_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db); }));
  REQUIRE(threads_at_nice(daemon.pid(), 0) > 0);

  // 3,000 events at 600/s: five seconds of replay to look at.
  const std::string endpoint = "127.0.0.1:" + std::to_string(http_port(daemon));
  REQUIRE(run_command({kBinary, "--config", config, "rebuild", "users", "--max-rate", "600", "--http", endpoint},
                      env_for(db))
              .exit_code == 0);
  REQUIRE(eventually([&] { return checkpoint(db, "users:rebuild") > 0; }));
  CHECK(threads_at_nice(daemon.pid(), 10) == 0);

  write_events(db, 30);
  CHECK(eventually([&] { return threads_at_nice(daemon.pid(), 10) == 1; }));
  REQUIRE(eventually([&] { return swaps(daemon) == 1; }, 60s));
  check_swapped(db);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a reader holding the live table makes the swap give up its lock wait and retry until the table is free") {
  TestDatabase db;
  write_events(db, 500);
  const std::string config = migrated(db, "rebuild-locked.toml", rebuild_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db); }));
  const auto old_table = table_oid(db);

  auto reader = db.connect();
  auto holding = std::make_unique<pqxx::work>(*reader);
  holding->exec0("LOCK TABLE user_projection IN ACCESS SHARE MODE");
  REQUIRE(http_request("127.0.0.1", http_port(daemon), "POST", "/admin/rebuild/users").status == 202);
  // The swap's lock wait ends after lock_timeout and the rebuild lane tries again, more than once.
  REQUIRE(eventually(
      [&] {
        const std::string log = daemon.log();
        const auto first = log.find("lock timeout");
        return first != std::string::npos && log.find("lock timeout", first + 1) != std::string::npos;
      },
      30s));
  CHECK(table_oid(db) == old_table);
  CHECK(rebuild_recorded(db));
  holding->abort();
  REQUIRE(eventually([&] { return swaps(daemon) == 1; }, 60s));
  check_swapped(db);
  CHECK(table_oid(db) != old_table);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE(
    "a rebuild held at ids its store's sequence skipped does not swap in before it passed the live checkpoint") {
  TestDatabase db;
  // A Django EventStoreRecord table whose sequence skipped its first five ids (a rolled-back batch): a reader
  // of this unlocked store waits hole_grace before it passes them, the rebuild as the live lane did.
  db.exec(event_store_record_ddl("users") +
          "SELECT setval('users_eventstorerecord_id_seq', 5);"
          "INSERT INTO users_eventstorerecord (aggregate_id, event_id, event_type, event_data, version, occurred_at)"
          " VALUES (1, gen_random_uuid()::text, 'UserRegistered', '{\"username\": \"ada\", \"email\":"
          " \"ada@example.com\"}', 1, now())");
  const std::string config = migrated(db, "rebuild-skipped-ids.toml", R"toml([database]
url = "${TEST_DATABASE_URL}"

[http]
listen = "127.0.0.1:0"

[sources.users]
preset = "django_event_store"
table = "users_eventstorerecord"
poll_interval = "50ms"
hole_grace = "2s"

[handlers.users]
kind = "users"
)toml");
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  REQUIRE(eventually([&] { return checkpoint(db, "users") == 6; }));

  REQUIRE(http_request("127.0.0.1", http_port(daemon), "POST", "/admin/rebuild/users").status == 202);
  REQUIRE(eventually([&] { return swaps(daemon) == 1; }, 60s));
  const std::string log = daemon.log();
  INFO(log);
  CHECK(log.find("event=rebuild_swapped position=6 ") != std::string::npos);
  CHECK(checkpoint(db, "users") == 6);
  CHECK(db.query_int("SELECT count(*) FROM user_projection") == 1);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a rebuild requested on a standby daemon fences the live lane of the daemon holding the handler") {
  TestDatabase db;
  write_events(db, 3000);
  const std::string config = migrated(db, "rebuild-fence.toml", rebuild_config());
  DaemonProcess a({kBinary, "--config", config, "run"}, env_for(db));
  DaemonProcess b({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(a) != 0 && http_port(b) != 0; }));
  REQUIRE(eventually([&] {
    return checkpoint(db, "users") == head(db) &&
           db.query_int("SELECT count(*) FROM projectord.leases WHERE name = 'users' AND expires_at > now()") == 1;
  }, 60s));
  const std::int64_t holder = db.query_int("SELECT pid FROM projectord.leases WHERE name = 'users'");
  DaemonProcess& live = holder == a.pid() ? a : b;
  DaemonProcess& standby = holder == a.pid() ? b : a;

  // The live lane runs on, under writes, on the daemon that does not rebuild.
  DaemonProcess writer({kWriter, "--url", db.url(), "--events", "3000", "--zlib", "--per-transaction", "2"}, {});
  REQUIRE(http_request("127.0.0.1", http_port(standby), "POST", "/admin/rebuild/users").status == 202);
  REQUIRE(eventually([&] { return swaps(standby) == 1; }, 90s));
  REQUIRE(writer.wait_exit(90s) == 0);
  check_swapped(db);
  // The swap raised the lease's epoch: the live lane's next commit failed, and it went on from the swapped
  // checkpoint, not from its own.
  CHECK(live.log().find("handler users: lost its lease") != std::string::npos);
  CHECK(exit_code_after(a, SIGTERM) == 0);
  CHECK(exit_code_after(b, SIGTERM) == 0);
}
