// Fault scenario: the network misbehaving. A TcpProxy (tests/support/tcp_proxy.hpp) sits between the daemon
// and PostgreSQL (source, read models, checkpoints) and another between the daemon and the test Redis (a
// stream-fed handler); the test writes to both servers directly, under load, while each proxy stalls, drops,
// resets, black-holes or half-answers. While the fault lasts /status must say reconnecting or stuck with a
// reason and /healthz must keep answering; once the proxies pass again every lane recovers by itself and the
// read models equal a plain SQL replay of the store (bench/support/reference_sql.hpp), with no duplicate.
#include <hiredis/hiredis.h>

#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "bench/support/store.hpp"
#include "examples/user_events.hpp"
#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/faults/reference_models.hpp"
#include "tests/faults/scenario_report.hpp"
#include "tests/faults/scenario_steps.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/test_redis.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::TcpProxy;
using projectord::testing::TestDatabase;
using projectord::testing::faults::ScenarioFigures;

namespace {

const std::vector<std::string> kHandlers = {"users", "user_log", "page_views"};

// The demo store's two read models and a page-view count fed by a Redis stream; a fault is "stuck" after 3 s.
std::string network_config(const std::string& stream) {
  std::string demo = demo_config("", "poll_interval = \"200ms\"\n", "eventsourcing_json");
  for (const std::string kind : {"kind = \"users\"\n", "kind = \"event_log\"\n"}) {
    demo.insert(demo.find(kind) + kind.size(), "source = \"shop\"\n");  // two sources: each handler names its own
  }
  return with_admin_token(
      "[daemon]\nstuck_after = \"3s\"\nshutdown_timeout = \"5s\"\n\n" + demo +
      "\n[sources.activity]\nkind = \"redis\"\nurl = \"${TEST_REDIS_URL}\"\nstream = \"" + stream +
      "\"\nblock = \"200ms\"\n\n"
      "[handlers.page_views]\nkind = \"sql\"\nsource = \"activity\"\n"
      "setup = \"CREATE TABLE IF NOT EXISTS page_views (path text PRIMARY KEY, views bigint NOT NULL)\"\n\n"
      "[[handlers.page_views.statements]]\non = \"PageViewed\"\nsql = \"\"\"\n"
      "INSERT INTO page_views (path, views) VALUES ($1, 1)\n"
      "ON CONFLICT (path) DO UPDATE SET views = page_views.views + 1\n\"\"\"\nparams = [\"data.path\"]\n");
}

// Events into stored_events (one COPY of 4 per transaction) and page views into the stream, straight to the
// servers, until stopped; it remembers what it wrote.
class WriteLoad {
 public:
  WriteLoad(const TestDatabase& db, const std::string& stream) : stream_(stream) {
    connection_ = db.connect();
    const auto redis = projectord::testing::test_redis_url();
    redis_ = redisConnect(redis.host.c_str(), redis.port);
    REQUIRE((redis_ != nullptr && redis_->err == 0));
    thread_ = std::thread([this] { run(); });
  }
  ~WriteLoad() {
    stop();
    redisFree(redis_);
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::int64_t events() const { return events_; }
  std::int64_t views() const { return views_; }
  const std::map<std::string, std::int64_t>& views_per_path() const { return per_path_; }  // once stopped
  std::string error() const { return error_; }

 private:
  void run() {
    try {
      for (std::int64_t round = 0; !stopping_; ++round) {
        projectord::bench::append_events(*connection_, generator_, 4);
        events_ += 4;
        const std::string path = "/page/" + std::to_string(round % 7);
        auto* reply = static_cast<redisReply*>(redisCommand(
            redis_, "XADD %s * type PageViewed stream_id visitor data {\"path\":\"%s\"}", stream_.c_str(), path.c_str()));
        if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) throw std::runtime_error("XADD failed");
        freeReplyObject(reply);
        ++per_path_[path];
        ++views_;
        // The load's pace, a few hundred events a second: not a wait for anything.
        std::this_thread::sleep_for(10ms);
      }
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }

  std::string stream_;
  std::unique_ptr<pqxx::connection> connection_;
  redisContext* redis_ = nullptr;
  projectord::examples::UserEventGenerator generator_{projectord::bench::kSeed};
  std::map<std::string, std::int64_t> per_path_;
  std::atomic<std::int64_t> events_{0}, views_{0};
  std::atomic<bool> stopping_{false};
  std::string error_;
  std::thread thread_;
};

// Asks /healthz every 100 ms with a 1 s deadline until stopped; counts the answers that were not 200.
class HealthPoller {
 public:
  explicit HealthPoller(const Endpoint& endpoint)
      : thread_([this, &endpoint] {
          while (!stopping_) {
            ++asked_;
            if (endpoint.get("/healthz", 1s).status != 200) ++missed_;
            std::this_thread::sleep_for(100ms);  // the poll's pace
          }
        }) {}
  ~HealthPoller() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::int64_t asked() const { return asked_; }
  std::int64_t missed() const { return missed_; }

 private:
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> asked_{0}, missed_{0};
  std::thread thread_;
};

void run_scenario(TcpProxy::Mode mode) {
  projectord::testing::faults::ReportAtEnd reported{{.scenario = "network " + std::string(to_string(mode))}};
  ScenarioFigures& figures = reported.figures;

  TestDatabase db;
  // The demo writer holds eventsourcing_django's DDL for stored_events.
  REQUIRE(projectord::testing::run_command({kWriter, "--url", db.url(), "--events", "0"}).exit_code == 0);
  const std::string stream = projectord::testing::unique_redis_name("activity");
  const auto [pg_host, pg_port] = db.server_address();
  const auto redis = projectord::testing::test_redis_url();
  TcpProxy pg_proxy(pg_host, pg_port);
  TcpProxy redis_proxy(redis.host, redis.port);

  const std::string redis_direct = "redis://" + redis.endpoint();
  const std::string config = write_file("network.toml", network_config(stream));
  REQUIRE(projectord::testing::run_command({kBinary, "--config", config, "migrate"},
                                           {{"TEST_DATABASE_URL", db.url()}, {"TEST_REDIS_URL", redis_direct}})
              .exit_code == 0);
  DaemonProcess daemon(
      {kBinary, "--config", config, "run"},
      {{"TEST_DATABASE_URL", db.url() + " port=" + std::to_string(pg_proxy.port())},
       {"TEST_REDIS_URL", "redis://" + redis.host + ":" + std::to_string(redis_proxy.port())}});
  const Endpoint http(daemon, kAdminToken);
  REQUIRE(eventually([&] {
    for (const auto& handler : kHandlers) {
      if (http.state(handler) != "idle") return false;
    }
    return true;
  }));
  figures.observe(daemon.pid());

  WriteLoad load(db, stream);
  HealthPoller health(http);
  REQUIRE(eventually([&] { return http.position("user_log") > 0 && http.handler("page_views").at("events_applied").as_int64() > 0; }));

  // The fault, until every lane says what is wrong (a hung call shows as stuck once stuck_after passed).
  figures.observe(daemon.pid());
  pg_proxy.set_mode(mode);
  redis_proxy.set_mode(mode);
  figures.faults_injected += 2;
  const auto fault_began = std::chrono::steady_clock::now();
  std::map<std::string, std::string> seen;  // handler -> "state: reason"
  eventually(
      [&] {
        for (const auto& handler : kHandlers) {
          const auto entry = http.handler(handler);
          const std::string state(entry.at("state").as_string());
          const auto* reason = entry.if_contains("reason");
          if ((state == "reconnecting" || state == "stuck") && reason != nullptr && !reason->as_string().empty()) {
            seen.emplace(handler, state + ": " + std::string(reason->as_string()));
          }
        }
        // Held for a while at least, so that writes pile up behind the fault: its duration, not a wait.
        return seen.size() == kHandlers.size() && std::chrono::steady_clock::now() - fault_began > 4s;
      },
      40s, 100ms);
  pg_proxy.set_mode(TcpProxy::Mode::pass);
  redis_proxy.set_mode(TcpProxy::Mode::pass);
  figures.faults_injected += 2;
  for (const auto& [handler, said] : seen) INFO(handler << " said " << said);

  // Recovery, by itself, under load; then the load stops and every lane catches up.
  const auto applied_before = http.position("user_log");
  const bool resumed = eventually([&] { return http.position("user_log") > applied_before; }, 60s);
  load.stop();
  figures.events_written = load.events() + load.views();
  const auto written_head = head(db);
  const bool caught_up = eventually(
      [&] {
        return http.position("users") == written_head && http.position("user_log") == written_head &&
               db.query_int("SELECT coalesce(sum(views), 0) FROM page_views") >= load.views();
      },
      90s, 100ms);
  figures.observe(daemon.pid());
  health.stop();

  // The read models against a plain SQL replay of the store, and the page views against what was written.
  auto connection = db.connect();
  const auto models = projectord::testing::faults::compare_with_reference(*connection, written_head);
  std::string detail = models.users.sample + models.log.sample;
  std::int64_t views_missing = 0, views_extra = 0;
  for (const auto& [path, views] : load.views_per_path()) {
    const std::string counted = db.query_value("SELECT views FROM page_views WHERE path = '" + path + "'");
    const std::int64_t got = counted.empty() ? 0 : std::stoll(counted);
    if (got != views) detail += "  page_views " + path + ": " + std::to_string(got) + ", written " + std::to_string(views) + "\n";
    if (got < views) views_missing += views - got;
    if (got > views) views_extra += got - views;
  }
  figures.events_applied = db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") +
                           db.query_int("SELECT coalesce(sum(views), 0) FROM page_views") - views_extra;
  figures.duplicates = models.log.extra + views_extra;
  figures.losses = models.log.missing + models.users.missing + models.users.extra + views_missing;

  INFO("write load: " << load.error());
  INFO("mismatches:\n" << detail);
  INFO("daemon log tail:\n" << daemon.log().substr(daemon.log().size() > 4000 ? daemon.log().size() - 4000 : 0));
  CHECK(load.error().empty());
  CHECK(seen.size() == kHandlers.size());  // every lane said reconnecting or stuck, with a reason
  CHECK(resumed);
  CHECK(caught_up);
  CHECK(health.asked() > 0);
  CHECK(health.missed() == 0);
  CHECK(figures.duplicates == 0);
  CHECK(figures.losses == 0);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

}  // namespace

TEST_CASE("network stall: the lanes say stuck or reconnecting, then recover by themselves with the replay's read models") {
  run_scenario(TcpProxy::Mode::stall);
}

TEST_CASE("network drop: the lanes say reconnecting, then recover by themselves with the replay's read models") {
  run_scenario(TcpProxy::Mode::drop);
}

TEST_CASE("network reset: the lanes say reconnecting, then recover by themselves with the replay's read models") {
  run_scenario(TcpProxy::Mode::reset);
}

TEST_CASE("network black hole: the lanes say stuck or reconnecting, then recover by themselves with the replay's read models") {
  run_scenario(TcpProxy::Mode::black_hole);
}

TEST_CASE("network half answers: the lanes say stuck or reconnecting, then recover by themselves with the replay's read models") {
  run_scenario(TcpProxy::Mode::half_answer);
}
