// Fault scenario: the read-model database refuses the daemon's writes for a while, for reasons none of the
// events' own: a read-only default transaction for the daemon's role, a tablespace on a full filesystem, a
// lock another session holds on the read-model tables. Both kinds of handler run: `users` halts on an event's
// own failure (on_error = "stop"), `user_log` dead-letters it (on_error = "dead_letter"); neither may do so
// here. While the fault lasts, nothing is applied, nothing is dead-lettered, no checkpoint passes an event
// not applied and /status says what is wrong; once it clears, the daemon goes on by itself and the models end
// equal to the plain SQL replay (tests/faults/reference_models.hpp).
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <map>
#include <pwd.h>
#include <unistd.h>
#include <string>
#include <thread>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/faults/reference_models.hpp"
#include "tests/faults/scenario_report.hpp"
#include "tests/faults/scenario_steps.hpp"
#include "tests/support/login_role.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using namespace projectord::testing::faults;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::LoginRole;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

std::int64_t dead_letters(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.dead_letters");
}

const char* const kRefusedHandlers[] = {"users", "user_log"};

// The demo store migrated by its owner (the superuser) and the daemon run by `role`, holding what
// `migrate --print-grants` lists. Few, quick attempts per event: were the fault judged the events', they
// would be halted on or dead-lettered within the fault's first seconds.
struct RefusingStore {
  explicit RefusingStore(const LoginRole& role) : role(role) {
    write_plain_events(db, 600);
    const std::string attempts = "max_attempts = 2\nretry_backoff = \"50ms\"\n";
    std::string text = with_admin_token("[daemon]\nstuck_after = \"3s\"\n\n" +
                                        demo_config("", "", "eventsourcing_json") + attempts);
    const std::string users_table = "table = \"user_projection\"\n";
    text.replace(text.find(users_table), users_table.size(), users_table + attempts);
    config = migrated(db, "refused-" + db.name() + ".toml", text);
    const auto printed = run_command({kBinary, "--config", config, "migrate", "--print-grants", role.name()},
                                     env_for(db));
    REQUIRE(printed.exit_code == 0);
    db.exec(printed.output);
  }

  DaemonProcess run() const {
    return DaemonProcess({kBinary, "--config", config, "run"}, {{"TEST_DATABASE_URL", role.url_for(db.url())}});
  }

  bool caught_up() const {
    const std::int64_t newest = head(db);
    return checkpoint_of(db, "users") == newest && checkpoint_of(db, "user_log") == newest;
  }

  /// Ends the role's sessions: the daemon's next ones start with the role's settings as they are now.
  void end_role_sessions() const {
    db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role.name() + "'");
  }

  const LoginRole& role;
  TestDatabase db;
  std::string config;
};

// What the fault must leave alone while it lasts, and what /status must say: checked over `hold`, the fault's
// duration, from the moment every handler shows it.
void expect_held(const RefusingStore& store, const Endpoint& endpoint, std::chrono::seconds hold,
                 const std::function<bool(const boost::json::object&)>& shows_fault) {
  std::map<std::string, std::int64_t> held_at;
  for (const char* handler : kRefusedHandlers) {
    const bool shown = eventually([&] { return shows_fault(endpoint.handler(handler)); }, 60s);
    INFO(handler << ": " << boost::json::serialize(endpoint.handler(handler)));
    REQUIRE(shown);
    held_at[handler] = checkpoint_of(store.db, handler);
    CHECK(held_at[handler] < head(store.db));
  }
  const auto until = std::chrono::steady_clock::now() + hold;
  while (std::chrono::steady_clock::now() < until) {
    for (const char* handler : kRefusedHandlers) {
      const auto status = endpoint.handler(handler);
      INFO(handler << ": " << boost::json::serialize(status));
      CHECK(status.at("state") != "halted");
      CHECK(checkpoint_of(store.db, handler) == held_at[handler]);
    }
    REQUIRE(dead_letters(store.db) == 0);
    std::this_thread::sleep_for(500ms);  // the fault's duration, sampled; nothing waits on this
  }
}

// The end every case shares: caught up by itself, equal to the replay, nothing dead-lettered.
void expect_resumed(const RefusingStore& store, DaemonProcess& daemon, ReportAtEnd& run) {
  const bool resumed = eventually([&] { return store.caught_up(); }, 120s);
  INFO("users at " << checkpoint_of(store.db, "users") << ", user_log at " << checkpoint_of(store.db, "user_log")
                   << " of " << head(store.db) << "; the daemon's log:\n" << daemon.log());
  REQUIRE(resumed);
  run.figures.observe(daemon.pid());
  const std::string differences = compare_demo_models(store.db, run.figures);
  INFO(differences);
  CHECK(differences.empty());
  CHECK(dead_letters(store.db) == 0);
  CHECK(run.figures.duplicates == 0);
  CHECK(run.figures.losses == 0);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

bool last_error_says(const boost::json::object& status, const std::string& words) {
  if (status.empty() || !status.contains("last_error") || !status.at("last_error").is_string()) return false;
  return std::string(status.at("last_error").as_string()).find(words) != std::string::npos;
}

}  // namespace

TEST_CASE("a read-only default transaction for the daemon's role: both handlers wait, skip nothing and resume",
          "[faults][refused]") {
  ReportAtEnd run{{.scenario = "read-model database read-only for the daemon's role"}};
  const LoginRole role;  // before the database: dropped after it, with what it was granted there
  RefusingStore store(role);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return store.caught_up(); }, 60s));
  Endpoint endpoint(daemon, kAdminToken);  // the token: /status shows the errors' text
  run.figures.observe(daemon.pid());

  store.db.exec("ALTER ROLE " + role.name() + " SET default_transaction_read_only = on");
  store.end_role_sessions();
  ++run.figures.faults_injected;
  write_plain_events(store.db, 300);
  expect_held(store, endpoint, 10s,
              [](const boost::json::object& status) { return last_error_says(status, "read-only transaction"); });

  store.db.exec("ALTER ROLE " + role.name() + " RESET default_transaction_read_only");
  store.end_role_sessions();
  expect_resumed(store, daemon, run);
}

namespace {

// A small tmpfs of the test's own for a tablespace, and a file that fills it: the read-model tables moved
// there can grow no more while it is full. Unmounted at the end (after the database and the tablespace went).
class FullFilesystem {
 public:
  FullFilesystem() {
    std::string pattern = "/tmp/projectord-full-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      refused_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    dir_ = pattern;
    const passwd* owner = ::getpwnam("postgres");
    const std::string options = "size=16m,mode=0700" + (owner == nullptr ? std::string() :
        ",uid=" + std::to_string(owner->pw_uid) + ",gid=" + std::to_string(owner->pw_gid));
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      refused_ = std::string("mount refused: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~FullFilesystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  FullFilesystem(const FullFilesystem&) = delete;
  FullFilesystem& operator=(const FullFilesystem&) = delete;

  /// Why the machine gave no such filesystem; "" when it did.
  const std::string& refused() const { return refused_; }
  const std::string& dir() const { return dir_; }

  /// Writes zeros until no byte is left.
  void fill() const {
    std::ofstream filler(dir_ + "/filler", std::ios::binary);
    const std::string block(64 * 1024, '\0');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  void empty() const { std::filesystem::remove(dir_ + "/filler"); }

 private:
  std::string dir_;
  std::string refused_;
  bool mounted_ = false;
};

// A tablespace of the shared test server, dropped at the end (after the database whose tables it holds).
struct Tablespace {
  explicit Tablespace(const std::string& location)
      : name("projectord_full_" + std::to_string(::getpid())) {
    as_superuser("CREATE TABLESPACE " + name + " LOCATION '" + location + "'");
  }
  ~Tablespace() {
    try {
      as_superuser("DROP TABLESPACE IF EXISTS " + name);
    } catch (const std::exception&) {  // a leftover tablespace on a throwaway server harms no other test
    }
  }
  static void as_superuser(const std::string& sql) {
    pqxx::connection admin(std::getenv("PROJECTORD_TEST_PG"));
    pqxx::nontransaction(admin).exec(sql);
  }
  std::string name;
};

}  // namespace

TEST_CASE("the read-model tables on a full filesystem: both handlers wait, skip nothing and resume once there is "
          "room",
          "[faults][refused]") {
  FullFilesystem filesystem;
  if (!filesystem.refused().empty()) {
    // Machines that allow no mount (an unprivileged container) cannot run this case: the table says why.
    report({.scenario = "read-model tablespace full (not run: " + filesystem.refused() + ")"});
    WARN("a full tablespace was not tried: " + filesystem.refused());
    return;
  }
  ReportAtEnd run{{.scenario = "read-model tablespace full"}};
  const Tablespace tablespace(filesystem.dir());
  const LoginRole role;  // before the database: dropped after it, with what it was granted there
  RefusingStore store(role);
  store.db.exec("ALTER TABLE user_projection SET TABLESPACE " + tablespace.name +
                "; ALTER TABLE user_event_log SET TABLESPACE " + tablespace.name);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return store.caught_up(); }, 60s));
  Endpoint endpoint(daemon, kAdminToken);  // the token: /status shows the errors' text
  run.figures.observe(daemon.pid());

  filesystem.fill();
  ++run.figures.faults_injected;
  write_plain_events(store.db, 1500);
  expect_held(store, endpoint, 10s,
              [](const boost::json::object& status) { return last_error_says(status, "No space left on device"); });

  filesystem.empty();
  expect_resumed(store, daemon, run);
}

TEST_CASE("a session holding the read-model tables exclusively for a minute: both handlers wait, skip nothing "
          "and resume",
          "[faults][refused]") {
  ReportAtEnd run{{.scenario = "read-model tables locked for a minute"}};
  const LoginRole role;  // before the database: dropped after it, with what it was granted there
  RefusingStore store(role);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return store.caught_up(); }, 60s));
  Endpoint endpoint(daemon, kAdminToken);
  run.figures.observe(daemon.pid());
  {
    const auto holder = store.db.connect();
    pqxx::work holding(*holder);
    holding.exec("LOCK TABLE user_projection, user_event_log IN ACCESS EXCLUSIVE MODE");
    ++run.figures.faults_injected;
    write_plain_events(store.db, 300);
    expect_held(store, endpoint, 60s, [](const boost::json::object& status) {
      // stuck_after = 3s: a unit of work that long is reported, and the reason names a lock as a cause.
      return !status.empty() && status.at("state") == "stuck" &&
             std::string(status.at("reason").as_string()).find("lock") != std::string::npos;
    });
  }
  expect_resumed(store, daemon, run);
}
