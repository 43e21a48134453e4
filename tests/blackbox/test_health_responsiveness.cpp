// /healthz of the projectord binary stays fast while its database work cannot go on: its lanes blocked on
// PostgreSQL backends frozen with SIGSTOP (a hung server, as far as the daemon can tell), and a large catch-up
// running its batches. Each probe is timed from before the connect to the end of the answer, a connection per
// probe as a load balancer's health check makes them.
#include <sys/types.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/stopped_processes.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::http_request;
using projectord::testing::StoppedProcesses;
using projectord::testing::TestDatabase;

namespace {

using Steady = std::chrono::steady_clock;

// The bound for the 99th percentile of /healthz. Under a sanitizer every instrumented access of the daemon and
// of the test costs several times its own, so there it only says that no probe waits for a batch.
#ifdef PROJECTORD_TEST_SANITIZED
constexpr auto kHealthBudget = 250ms;
#else
constexpr auto kHealthBudget = 50ms;
#endif
// The demo config's handlers.
const std::vector<std::string> kHandlers = {"users", "user_log"};

// Latencies of /healthz probes, with nearest-rank percentiles.
class HealthProbes {
 public:
  // One GET /healthz on a fresh connection, timed from before the connect. A probe that fails, times out (2 s)
  // or answers other than 200 ends the test at once: the latencies so far are printed, and a /healthz that hangs
  // costs one deadline, not one per probe.
  void probe(unsigned short port) {
    const auto start = Steady::now();
    std::string failure;
    try {
      const auto reply = http_request("127.0.0.1", port, "GET", "/healthz", 2s);
      if (reply.status != 200) failure = "GET /healthz answered " + std::to_string(reply.status);
    } catch (const std::exception& error) {
      failure = error.what();
    }
    latencies_.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - start));
    if (!failure.empty()) FAIL(failure << "; " << summary());
  }

  std::size_t count() const { return latencies_.size(); }

  std::chrono::microseconds percentile(double fraction) const {
    if (latencies_.empty()) return {};
    std::vector<std::chrono::microseconds> sorted = latencies_;
    std::sort(sorted.begin(), sorted.end());
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
    return sorted.at(std::max<std::size_t>(rank, 1) - 1);
  }

  std::string summary() const {
    const auto ms = [](std::chrono::microseconds us) {
      char text[32];
      std::snprintf(text, sizeof text, "%.2f ms", static_cast<double>(us.count()) / 1000.0);
      return std::string(text);
    };
    return "/healthz over " + std::to_string(count()) + " probes: p50 " + ms(percentile(0.50)) + ", p99 " +
           ms(percentile(0.99)) + ", max " + ms(percentile(1.0));
  }

 private:
  std::vector<std::chrono::microseconds> latencies_;
};

// The 99th percentile is within the budget; the figures are printed either way.
void check_within_budget(const HealthProbes& probes) {
  WARN(probes.summary());
  INFO(probes.summary());
  CHECK(probes.percentile(0.99) <= kHealthBudget);
}

struct LaneView {
  std::string state;
  std::int64_t position = 0;
};

// Each handler's state and checkpoint position, as GET /status reports them.
std::map<std::string, LaneView> lanes(unsigned short port) {
  const boost::json::value status = boost::json::parse(http_request("127.0.0.1", port, "GET", "/status").body);
  std::map<std::string, LaneView> out;
  for (const auto& handler : status.at("handlers").as_array()) {
    out[std::string(handler.at("name").as_string())] = {std::string(handler.at("state").as_string()),
                                                        handler.at("position").as_int64()};
  }
  return out;
}

// Every handler is in `state` at `position`.
bool all_lanes_at(unsigned short port, const std::string& state, std::int64_t position) {
  const auto view = lanes(port);
  return view.size() == kHandlers.size() && std::all_of(view.begin(), view.end(), [&](const auto& lane) {
           return lane.second.state == state && lane.second.position == position;
         });
}

// The pids of this database's backends that `condition` (on pg_stat_activity) selects, when there are `expected`
// of them and every one is idle: no query running, no transaction open. Empty otherwise.
std::vector<pid_t> idle_backends(const TestDatabase& db, const std::string& condition, std::size_t expected) {
  pqxx::connection connection(db.url());
  pqxx::nontransaction txn(connection);
  const pqxx::result rows =
      txn.exec("SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() AND " + condition);
  std::vector<pid_t> pids;
  for (const auto& row : rows) {
    if (row[1].is_null() || row[1].as<std::string>() != "idle") return {};
    pids.push_back(row[0].as<pid_t>());
  }
  std::sort(pids.begin(), pids.end());
  return pids.size() == expected ? pids : std::vector<pid_t>{};
}

// The backends of the daemon's lanes: application_name projectord:<handler> (writes) and projectord:<handler>:read
// (see base/postgres/session.cpp).
std::vector<pid_t> idle_lane_backends(const TestDatabase& db) {
  std::string names;
  for (const std::string& handler : kHandlers) {
    names += (names.empty() ? "'projectord:" : ", 'projectord:") + handler + "', 'projectord:" + handler + ":read'";
  }
  return idle_backends(db, "application_name IN (" + names + ")", 2 * kHandlers.size());
}

// The backends of the daemon's LISTEN connections, application_name projectord:listen:<channel>: one for the
// source and one for the control channel (projectord_control, when [control] notify = true).
std::vector<pid_t> idle_listener_backends(const TestDatabase& db) {
  return idle_backends(db, "application_name LIKE 'projectord:listen:%'", 2);
}

// The daemon has logged, after the first `offset` bytes of its log, that `handler` is stalled: busy with one
// unit of work for over half the watchdog interval.
bool logged_stalled(const DaemonProcess& daemon, std::size_t offset, const std::string& handler) {
  return daemon.log().find("handler=" + handler + " event=stalled", offset) != std::string::npos;
}

// `count` UserRegistered events in the demo store in one statement, their state plain JSONTranscoder JSON (the
// eventsourcing_json codec): a backlog written in seconds, where the demo writer would take minutes.
void insert_registrations(const TestDatabase& db, int count) {
  db.exec(
      "INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state)"
      " SELECT 'Shop', gen_random_uuid(), 1, 'users.events:UserRegistered', convert_to(json_build_object("
      "   'timestamp', json_build_object('_type_', 'datetime_iso',"
      "                                  '_data_', timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'),"
      "   'originator_topic', 'users.domain:User', 'username', 'user' || g, 'email', 'user' || g || '@example.com',"
      "   'first_name', 'Ada', 'last_name', 'Lovelace')::text, 'UTF8')"
      " FROM generate_series(1, " +
      std::to_string(count) + ") g");
}

}  // namespace

TEST_CASE("/healthz answers within 50 ms (p99) while every lane is blocked on a hung database that then recovers") {
  TestDatabase db;
  write_events(db, 300);
  // Woken by NOTIFY only (an hour's poll interval): between wake-ups the daemon sends its backends nothing, so
  // they are frozen while idle, holding no lock that other tests on the shared server could wait for. They are
  // frozen for a second or two: meanwhile any DROP DATABASE on the server (other tests' clean-up) waits for them.
  // The control channel is on, so that its listener is frozen too.
  const std::string config =
      migrated(db, "hung.toml",
               demo_config("", "poll_interval = \"1h\"\n") + "\n[control]\nnotify = true\nallowed_roles = [\"" +
                   db.query_value("SELECT current_user") + "\"]\n");
  auto env = env_for(db);
  env["WATCHDOG_USEC"] = "1000000";  // the daemon logs a lane busy for over 0.5 s as stalled
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  const unsigned short port = http_port(daemon);
  REQUIRE(eventually([&] { return all_lanes_at(port, "idle", 300); }));
  std::vector<pid_t> lane_backends;
  REQUIRE(eventually([&] { return !(lane_backends = idle_lane_backends(db)).empty(); }));

  {
    // Continued when this block ends, failed assertion or not.
    const StoppedProcesses frozen_lanes(lane_backends);
    REQUIRE(idle_lane_backends(db) == lane_backends);  // none had started a query before it stopped
    const std::size_t log_offset = daemon.log().size();
    write_events(db, 30);  // the NOTIFY wakes both lanes; each sends its next read to a frozen backend

    // The daemon is blocked on the frozen backends: it says both lanes are stuck, and no checkpoint moves.
    REQUIRE(eventually([&] {
      return std::all_of(kHandlers.begin(), kHandlers.end(),
                         [&](const std::string& handler) { return logged_stalled(daemon, log_offset, handler); });
    }));
    CHECK(all_lanes_at(port, "idle", 300));
    // The listener has delivered its wake-up: now every backend the daemon has is frozen.
    const std::vector<pid_t> listener_backends = idle_listener_backends(db);
    REQUIRE(listener_backends.size() == 2);
    const StoppedProcesses frozen_listeners(listener_backends);

    HealthProbes probes;
    for (int i = 0; i < 200; ++i) probes.probe(port);
    check_within_budget(probes);
    CHECK(all_lanes_at(port, "idle", 300));  // still blocked: the probes all ran against a hung database
  }

  REQUIRE(eventually([&] { return all_lanes_at(port, "idle", 330); }, 30s));
  CHECK(logged_events(db) == 330);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("/healthz answers within 50 ms (p99) while a catch-up of 200k events runs its batches") {
  TestDatabase db;
  write_events(db, 0);  // creates stored_events
  // Users' transactions of some 3,500 users each, so that the users lane commits many times in the catch-up.
  const std::string config =
      migrated(db, "backlog.toml", with_fold_memory(demo_config("", "", "eventsourcing_json"), "8MiB"));
  insert_registrations(db, 200000);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
  const unsigned short port = http_port(daemon);
  REQUIRE(eventually([&] {
    const auto view = lanes(port);
    return view.size() == kHandlers.size() &&
           std::all_of(view.begin(), view.end(), [](const auto& lane) { return lane.second.state == "catching_up"; });
  }));

  // A probe every 5 ms (an even sample of the window, not a flood of connections), only while every lane reports
  // catching_up, until each has committed twice since the first probe: at least one whole batch, from its first
  // read to its commit, ran while they were taken.
  HealthProbes probes;
  std::map<std::string, int> commits;
  std::map<std::string, std::int64_t> last_position;
  for (const auto& [name, lane] : lanes(port)) last_position[name] = lane.position;
  const auto deadline = Steady::now() + 120s;
  auto measured = [&] {
    return probes.count() >= 200 &&
           std::all_of(kHandlers.begin(), kHandlers.end(), [&](const std::string& name) { return commits[name] >= 2; });
  };
  for (auto next = Steady::now(); !measured(); next += 5ms) {
    std::this_thread::sleep_until(next);
    INFO(probes.summary());
    REQUIRE(Steady::now() < deadline);
    for (const auto& [name, lane] : lanes(port)) {
      INFO("handler " << name << " is " << lane.state << " at " << lane.position
                      << ": the backlog is too small to measure a whole batch");
      REQUIRE(lane.state == "catching_up");
      if (lane.position != last_position[name]) ++commits[name];
      last_position[name] = lane.position;
    }
    probes.probe(port);
  }
  check_within_budget(probes);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters") == 0);
}
