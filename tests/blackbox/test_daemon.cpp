// The projectord binary as a black box: its CLI, a real PostgreSQL, events written by the demo writer
// (eventsourcing_django's stored_events, zlib'd JSONTranscoder payloads), signals and kill -9.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>

#include "checkpoints/schema.hpp"
#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::http_request;
using projectord::testing::run_command;
using projectord::testing::ScriptedResponse;
using projectord::testing::TestDatabase;
using projectord::testing::WebhookReceiver;
using namespace projectord::testing::blackbox;

namespace {

// A store of 20,000 events, migrated, with a config whose small batches make a catch-up take many
// transactions: long enough to interrupt in the middle.
struct CatchUp {
  std::string config;
  std::int64_t total;
};
CatchUp prepare_catch_up(const TestDatabase& db, const std::string& name) {
  write_events(db, 20000, 50);
  // 1MiB holds two users folds of some 450 users each: a dozen transactions of several reads, so that the users
  // lane too commits before it reaches the head.
  const std::string config = migrated(db, name, with_fold_memory(demo_config("", "batch_size = 200\n"), "1MiB"));
  return {config, db.query_int("SELECT count(*) FROM stored_events")};
}

// Every handler has committed at least one batch.
bool every_handler_committed(const TestDatabase& db) {
  return db.query_int("SELECT coalesce(min(position), 0) FROM projectord.checkpoints") > 0;
}


}  // namespace

TEST_CASE("check-config accepts a valid file and names file, line and key of a bad one") {
  const std::string good = write_file("good.toml", demo_config());
  CHECK(run_command({kBinary, "--config", good, "check-config"}, {{"TEST_DATABASE_URL", "dbname=x"}}).exit_code == 0);

  const std::string valid = demo_config();
  const auto bad_line = std::count(valid.begin(), valid.end(), '\n') + 1;
  const std::string bad = write_file("bad.toml", valid + "colour = \"blue\"\n");
  const auto result = run_command({kBinary, "--config", bad, "check-config"}, {{"TEST_DATABASE_URL", "dbname=x"}});
  CHECK(result.exit_code == 1);
  CHECK(result.output.find(bad + ":" + std::to_string(bad_line)) != std::string::npos);
  CHECK(result.output.find("handlers.user_log.colour") != std::string::npos);
}

TEST_CASE("--help lists the commands and every config section") {
  const auto result = run_command({kBinary, "--help"});
  CHECK(result.exit_code == 0);
  for (const char* word : {"run", "migrate", "check-config", "status", "[sources.", "[handlers.", "hole_grace"}) {
    CHECK(result.output.find(word) != std::string::npos);
  }
}

TEST_CASE("migrate is idempotent and --uninstall removes what it installed") {
  TestDatabase db;
  write_events(db, 10);
  const std::string config = migrated(db, "migrate.toml", demo_config());
  REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env_for(db)).exit_code == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_trigger WHERE tgname = 'projectord_notify'") == 1);
  CHECK(db.query_int("SELECT count(*) FROM information_schema.tables WHERE table_name = 'user_projection'") == 1);

  REQUIRE(run_command({kBinary, "--config", config, "migrate", "--uninstall"}, env_for(db)).exit_code == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_trigger WHERE tgname = 'projectord_notify'") == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname = 'projectord'") == 0);
}

TEST_CASE("the indexes for readers are built once a catch-up from position 0 is done, and a later run restores one") {
  TestDatabase db;
  write_events(db, 3000);
  const std::string config = migrated(db, "indexes.toml", demo_config());
  const auto indexes_of = [&](const std::string& table) {
    return db.query_int("SELECT count(*) FROM pg_indexes WHERE tablename = '" + table + "'");
  };
  // migrate: the tables with their constraints' indexes (primary key; users: unique user_id and username).
  CHECK(indexes_of("user_projection") == 3);
  CHECK(indexes_of("user_event_log") == 1);

  const auto first = run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 120s);
  REQUIRE(first.exit_code == 0);
  const std::string at_head = "position=" + std::to_string(head(db));
  CHECK(first.output.find("handler=users event=reader_indexes_ready " + at_head) != std::string::npos);
  CHECK(first.output.find("handler=user_log event=reader_indexes_ready " + at_head) != std::string::npos);
  CHECK(indexes_of("user_projection") == 9);
  CHECK(indexes_of("user_event_log") == 6);

  db.exec("DROP INDEX user_projection_email_idx");
  REQUIRE(run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
  CHECK(db.query_int("SELECT count(*) FROM pg_indexes WHERE indexname = 'user_projection_email_idx'") == 1);
}

TEST_CASE("run refuses to start without the projectord schema and says what to do") {
  TestDatabase db;
  write_events(db, 3);
  const std::string config = write_file("nomigrate.toml", demo_config());
  const auto result = run_command({kBinary, "--config", config, "run"}, env_for(db), 30s);
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("projectord migrate") != std::string::npos);
}

TEST_CASE(
    "a schema of version 1 (no rebuilds, no leases, no delivery attempts, no checkpoint rows noted) is refused by"
    " run and upgraded by migrate") {
  TestDatabase db;
  write_events(db, 3);
  const std::string config = migrated(db, "upgrade.toml", demo_config());
  db.exec("DROP TABLE projectord.rebuilds, projectord.leases, projectord.lease_standbys, projectord.attempts,"
          " projectord.processes;"
          " UPDATE projectord.schema_version SET version = 1;"
          " ALTER TABLE projectord.checkpoints DROP COLUMN anchor_position, DROP COLUMN anchor_fingerprint");
  const auto refused = run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 30s);
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.find("another version") != std::string::npos);
  REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env_for(db)).exit_code == 0);
  CHECK(db.query_int("SELECT version FROM projectord.schema_version") == projectord::checkpoints::kSchemaVersion);
  CHECK(db.query_int("SELECT count(*) FROM projectord.rebuilds") == 0);  // the table is back
  CHECK(db.query_int("SELECT count(*) FROM projectord.leases") == 0);          // so are the leases'
  CHECK(db.query_int("SELECT count(*) FROM projectord.lease_standbys") == 0);  // and their standbys'
  CHECK(db.query_int("SELECT count(*) FROM projectord.attempts") == 0);        // and the delivery attempts'
  CHECK(db.query_int("SELECT count(*) FROM projectord.processes") == 0);       // and the spread's processes
  CHECK(db.query_int("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'projectord'"
                     " AND table_name = 'checkpoints' AND column_name LIKE 'anchor_%'") == 2);
  CHECK(run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 30s).exit_code == 0);
}

TEST_CASE("the daemon projects the store, follows live writes woken by NOTIFY, and stops cleanly on SIGTERM") {
  TestDatabase db;
  write_events(db, 300);
  // A poll interval of an hour: only the NOTIFY trigger can wake the daemon for the live writes.
  const std::string config = migrated(db, "live.toml", demo_config("", "poll_interval = \"1h\"\n"));

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return logged_events(db) == 300; }));
  write_events(db, 30);
  REQUIRE(eventually([&] { return logged_events(db) == 330; }, 10s));
  CHECK(db.query_int("SELECT count(*) FROM user_projection") > 0);
  CHECK(db.query_int("SELECT count(*) FROM user_projection WHERE current_version < 1") == 0);

  const auto status = run_command({kBinary, "--config", config, "status"}, env_for(db));
  CHECK(status.exit_code == 0);
  INFO(status.output);
  // user_log's row (the one waited for): at the head, no lag; the demo config's listen port 0 leaves state and
  // lag time to the daemon ("-").
  CHECK(std::regex_search(status.output, std::regex("\nuser_log +shop +- +(\\d+) +\\1 +0 +- +0\n")));

  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("the daemon reconnects after the server drops its connections and catches up") {
  TestDatabase db;
  write_events(db, 200);
  // An hour's poll interval: after a reconnect, only the lanes' own re-read and the listener's wake-up count.
  const std::string config = migrated(db, "reconnect.toml", demo_config("", "poll_interval = \"1h\"\n"));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return logged_events(db) == 200; }));

  for (int round = 1; round <= 3; ++round) {
    const auto killed = db.query_int(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name LIKE 'projectord:%'");
    CHECK(killed >= 3);  // both lanes and the listener
    write_events(db, 50);
    REQUIRE(eventually([&] { return logged_events(db) == 200 + 50 * round; }));
  }
  CHECK(daemon.log().find("event=error") != std::string::npos);

  // An outage: the database refuses connections for a while, so reconnecting fails and backs off.
  auto admin = [](const std::string& sql) {
    pqxx::connection connection(std::getenv("PROJECTORD_TEST_PG"));
    pqxx::nontransaction(connection).exec(sql);
  };
  admin("ALTER DATABASE " + db.name() + " ALLOW_CONNECTIONS false");
  admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db.name() + "'");
  auto refusals = [&] {
    const std::string log = daemon.log();
    std::size_t count = 0;
    for (auto at = log.find("is not currently accepting connections"); at != std::string::npos;
         at = log.find("is not currently accepting connections", at + 1)) {
      ++count;
    }
    return count;
  };
  const bool refused = eventually([&] { return refusals() >= 6; });  // every lane and the listener, retried
  INFO(daemon.log());
  REQUIRE(refused);
  admin("ALTER DATABASE " + db.name() + " ALLOW_CONNECTIONS true");
  write_events(db, 50);
  REQUIRE(eventually([&] { return logged_events(db) == 400; }, 60s));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("SIGINT in the middle of a catch-up ends the batch in flight cleanly and a restart finishes") {
  TestDatabase db;
  const CatchUp catch_up = prepare_catch_up(db, "sigint.toml");
  const auto& [config, total] = catch_up;

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return every_handler_committed(db); }));
  CHECK(exit_code_after(daemon, SIGINT) == 0);
  // The log holds exactly the events up to its checkpoint: the batch in flight committed with it or not at all.
  const auto logged_up_to = db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'user_log'");
  CHECK(logged_events(db) == logged_up_to);
  CHECK(db.query_int("SELECT coalesce(max(global_position), 0) FROM user_event_log") == logged_up_to);

  REQUIRE(run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code == 0);
  CHECK(logged_events(db) == total);
}

TEST_CASE("the daemon serves health, readiness, status and metrics over HTTP, and readiness says who halted") {
  TestDatabase db;
  write_events(db, 100);
  const std::string config = migrated(db, "http.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  const unsigned short port = http_port(daemon);
  auto get = [&](const std::string& target) { return http_request("127.0.0.1", port, "GET", target); };

  CHECK(get("/healthz").status == 200);
  REQUIRE(eventually([&] { return get("/readyz").status == 200; }));
  REQUIRE(eventually([&] { return logged_events(db) == 100; }));
  REQUIRE(eventually([&] {
    return get("/metrics").body.find("projectord_events_applied_total{handler=\"user_log\",source=\"shop\"} 100") !=
           std::string::npos;
  }));
  const auto status = boost::json::parse(get("/status").body).as_object();
  CHECK(status.at("ready").as_bool());
  REQUIRE(status.at("handlers").as_array().size() == 2);
  REQUIRE(status.at("sources").as_array().size() == 1);
  CHECK(status.at("sources").as_array()[0].at("name").as_string() == "shop");
  CHECK(status.at("sources").as_array()[0].at("head").as_int64() == 100);
  CHECK(status.at("sources").as_array()[0].at("handlers").as_array().size() == 2);
  for (const auto& handler : status.at("handlers").as_array()) {
    CHECK(handler.at("state").as_string() == "idle");
    CHECK(handler.at("position").as_int64() == 100);
  }
  const auto metrics = get("/metrics");
  CHECK(metrics.content_type.find("text/plain; version=0.0.4") == 0);
  CHECK(metrics.body.find("# TYPE projectord_handler_state gauge") != std::string::npos);
  CHECK(metrics.body.find("process_resident_memory_bytes") != std::string::npos);
  const char* promtool = std::getenv("PROJECTORD_PROMTOOL");
  REQUIRE(promtool != nullptr);  // scripts/test.sh unpacks Debian's promtool and names it
  const std::string scraped = write_file("metrics.txt", metrics.body);
  const auto lint = run_command({"/bin/sh", "-c", std::string(promtool) + " check metrics < " + scraped});
  INFO(lint.output);
  CHECK(lint.exit_code == 0);
  CHECK(get("/nope").status == 404);
  CHECK(http_request("127.0.0.1", port, "POST", "/status").status == 405);

  // A payload that is not zlib: users (on_error = stop) halts, user_log dead-letters it and goes on.
  db.exec(
      "INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state)"
      " VALUES ('Shop', gen_random_uuid(), 1, 'users.events:UserRegistered', '\\x00ff')");
  REQUIRE(eventually([&] { return get("/readyz").status == 503; }));
  const auto readiness = boost::json::parse(get("/readyz").body).as_object();
  REQUIRE(readiness.at("not_ready").as_array().size() == 1);
  CHECK(readiness.at("not_ready").as_array()[0].at("handler").as_string() == "users");
  CHECK(readiness.at("not_ready").as_array()[0].at("state").as_string() == "halted");
  REQUIRE(eventually([&] {
    return get("/metrics").body.find("projectord_dead_letters_total{handler=\"user_log\",source=\"shop\"} 1") !=
           std::string::npos;
  }));
  CHECK(get("/metrics").body.find("projectord_event_failures_total{handler=\"users\",source=\"shop\"} 1") !=
        std::string::npos);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);  // a stop on request is clean, halted handler or not
}

namespace {

// Stands in for systemd's notification socket: a Unix datagram socket whose messages the test reads.
class NotifySocket {
 public:
  NotifySocket() : path_(write_file("notify.sock", "")) {
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof(address.sun_path) - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  const std::string& path() const { return path_; }

  /// The next message, or "" when none arrives within `deadline`.
  std::string next(std::chrono::milliseconds deadline = 20s) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(deadline.count())) != 1) return {};
    std::array<char, 4096> buffer{};
    const auto n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    return n > 0 ? std::string(buffer.data(), static_cast<std::size_t>(n)) : std::string();
  }

  /// Reads messages until one contains `text`; returns it, or "" after `deadline`.
  std::string wait_for(const std::string& text, std::chrono::milliseconds deadline = 20s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      std::string message = next(left);
      if (message.find(text) != std::string::npos) return message;
    }
    return {};
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("under systemd the daemon sends READY once every handler is connected, STATUS, and STOPPING") {
  TestDatabase db;
  write_events(db, 50);
  const std::string config = migrated(db, "notify.toml", demo_config());
  NotifySocket systemd;
  auto env = env_for(db);
  env["NOTIFY_SOCKET"] = systemd.path();
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);

  const std::string ready = systemd.wait_for("READY=1");
  REQUIRE_FALSE(ready.empty());
  CHECK(ready.find("STATUS=2 handler(s):") != std::string::npos);
  CHECK(ready.find("max lag") != std::string::npos);
  // Once both are at the head, a later STATUS line says so.
  CHECK_FALSE(systemd.wait_for("max lag 0 positions, 0.0 s").empty());
  // Each lane loads (and so creates) its checkpoint before it counts as connected.
  CHECK(db.query_int("SELECT count(*) FROM projectord.checkpoints") == 2);
  daemon.signal(SIGTERM);
  CHECK_FALSE(systemd.wait_for("STOPPING=1").empty());
  REQUIRE(daemon.wait_exit(20s));
}

TEST_CASE("the watchdog is pinged while the lanes get on, not while one is stuck behind a lock, and again after") {
  TestDatabase db;
  write_events(db, 20);
  const std::string config = migrated(db, "watchdog.toml", demo_config());
  NotifySocket systemd;
  auto env = env_for(db);
  env["NOTIFY_SOCKET"] = systemd.path();
  env["WATCHDOG_USEC"] = "1000000";  // a lane busy for more than 0.5 s counts as stalled
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  REQUIRE_FALSE(systemd.wait_for("READY=1").empty());
  REQUIRE_FALSE(systemd.wait_for("WATCHDOG=1").empty());

  pqxx::connection locker(db.url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE user_event_log IN ACCESS EXCLUSIVE MODE");
  write_events(db, 3);  // the log lane's next COPY waits for the lock
  REQUIRE(eventually([&] { return daemon.log().find("handler=user_log event=stalled") != std::string::npos; }));
  // Pings sent before the stall was seen (bounded: a watchdog that never stops must fail, not hang).
  const auto drained_by = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < drained_by && !systemd.wait_for("WATCHDOG=1", 300ms).empty()) {
  }
  CHECK(systemd.wait_for("WATCHDOG=1", 1500ms).empty());

  lock.abort();
  CHECK_FALSE(systemd.wait_for("WATCHDOG=1").empty());
  REQUIRE(eventually([&] { return logged_events(db) == 23; }));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a handler waiting out a receiver's Retry-After is retrying, not stalled: the watchdog keeps being fed") {
  TestDatabase db;
  write_events(db, 3);
  const auto too_many = [](const std::string& retry_after) {
    return [retry_after](std::size_t, const auto&) {
      return ScriptedResponse{429, {{"Retry-After", retry_after}}};
    };
  };
  WebhookReceiver minutes(too_many("120"));
  WebhookReceiver forever(too_many("99999999999999"));
  const auto hook = [](const std::string& name, const WebhookReceiver& receiver) {
    return "\n[handlers." + name + "]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
           std::to_string(receiver.port()) + "/events\"\non_error = \"dead_letter\"\nmax_attempts = 2\nretry_backoff_max = \"3s\"\n";
  };
  const std::string config =
      migrated(db, "retrying.toml", with_admin_token(demo_config()) + hook("minutes", minutes) + hook("forever", forever));
  NotifySocket systemd;
  auto env = env_for(db);
  env["NOTIFY_SOCKET"] = systemd.path();
  env["WATCHDOG_USEC"] = "1000000";  // a lane busy for more than 0.5 s counts as stalled
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  const Endpoint http(daemon, kAdminToken);  // the token: the reason quotes the receiver's answer
  REQUIRE(eventually([&] { return http.state("minutes") == "retrying" && http.state("forever") == "retrying"; }));
  // From here on (the sessions' start, which a loaded machine may stretch past the half second, is behind).
  const std::size_t retrying_from = daemon.log().size();
  // Each Retry-After is capped at retry_backoff_max (3 s): every wait outlasts the watchdog's half interval.
  const auto reason = std::string(http.handler("forever").at("reason").as_string());
  CHECK_THAT(reason, Catch::Contains("attempt 1 failed") && Catch::Contains("429"));
  const auto retrying_until = std::chrono::steady_clock::now() + 2s;
  int pings = 0;
  while (std::chrono::steady_clock::now() < retrying_until) {
    if (!systemd.wait_for("WATCHDOG=1", 1s).empty()) ++pings;
  }
  CHECK(pings >= 2);
  CHECK_THAT(daemon.log().substr(retrying_from), !Catch::Contains("event=stalled"));
  // The attempts run out: dead letters, and the two handlers go on. The notifications are drained meanwhile, as
  // systemd does: a full socket would block the daemon's sd_notify.
  REQUIRE(eventually([&] {
    while (!systemd.next(0ms).empty()) {
    }
    return http.position("minutes") == head(db) && http.position("forever") == head(db);
  }));
  CHECK(minutes.requests().size() == 2 * 3);  // max_attempts for each event, not one more
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("the systemd unit verifies, its exposure is at most 2.0, and cmake --install puts the files in place") {
  std::ifstream source(std::string(PROJECTORD_SOURCE_DIR) + "/systemd/projectord.service");
  std::string unit((std::istreambuf_iterator<char>(source)), std::istreambuf_iterator<char>());
  const std::string installed_path = "/usr/bin/projectord";
  REQUIRE(unit.find(installed_path) != std::string::npos);
  // verify wants ExecStart to exist: point it at the binary under test.
  unit.replace(unit.find(installed_path), installed_path.size(), kBinary);
  const auto dir = std::filesystem::temp_directory_path() / ("projectord-unit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string unit_path = (dir / "projectord.service").string();
  std::ofstream(unit_path) << unit;

  const auto verify = run_command({"systemd-analyze", "verify", unit_path});
  INFO(verify.output);
  CHECK(verify.exit_code == 0);
  const auto security = run_command({"systemd-analyze", "security", "--offline=true", "--threshold=20", unit_path});
  INFO(security.output);
  CHECK(security.exit_code == 0);

  const auto prefix = dir / "root";
  const auto install = run_command({"cmake", "--install", PROJECTORD_BUILD_DIR, "--prefix", prefix.string()});
  INFO(install.output);
  REQUIRE(install.exit_code == 0);
  for (const char* file : {"bin/projectord", "lib/systemd/system/projectord.service", "lib/sysusers.d/projectord.conf",
                           "lib/tmpfiles.d/projectord.conf", "etc/projectord/projectord.toml"}) {
    CHECK(std::filesystem::exists(prefix / file));
  }
  // The sample config is valid as shipped (its secret file aside).
  const std::string sample = std::string(PROJECTORD_SOURCE_DIR) + "/systemd/projectord.toml";
  const auto check = run_command({kBinary, "--config", sample, "check-config"});
  INFO(check.output);
  CHECK(check.exit_code == 1);
  CHECK(std::count(check.output.begin(), check.output.end(), '\n') == 1);  // one complaint: the secret file
  CHECK(check.output.find("database_url") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("kill -9 in the middle of a catch-up loses nothing and applies nothing twice") {
  TestDatabase db;
  const CatchUp catch_up = prepare_catch_up(db, "kill.toml");
  const auto& [config, total] = catch_up;

  {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    REQUIRE(eventually([&] { return every_handler_committed(db); }));
    daemon.signal(SIGKILL);
    REQUIRE(daemon.wait_exit(10s));
  }
  CHECK(db.query_int("SELECT min(position) FROM projectord.checkpoints") < total);

  REQUIRE(run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code == 0);
  CHECK(logged_events(db) == total);
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == total);

  // A second set of read models built in one uninterrupted run must be identical.
  const std::string reference = migrated(db, "reference.toml", demo_config("_ref"));
  REQUIRE(run_command({kBinary, "--config", reference, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
  CHECK(users_differences(db, "user_projection", "user_projection_ref") == 0);
  CHECK(db.query_int("SELECT count(*) FROM user_projection") > 1000);
}

TEST_CASE("the users read model built in large batches equals the one built one event at a time") {
  TestDatabase db;
  write_events(db, 5000, 7);
  const std::string batched = write_file("batched.toml", demo_config("_batched", "batch_size = 5000\n"));
  const std::string single = write_file("single.toml", demo_config("_single", "batch_size = 1\n"));
  for (const auto& config : {batched, single}) {
    REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env_for(db)).exit_code == 0);
    REQUIRE(run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
            0);
  }
  CHECK(db.query_int("SELECT count(*) FROM user_projection_batched") > 500);
  CHECK(users_differences(db, "user_projection_batched", "user_projection_single") == 0);
}
