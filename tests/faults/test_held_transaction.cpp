// A writer's transaction holds a position open while later ones commit: held longer than the source's
// max_hole_wait, its event is applied late (and counted in late_arrivals), never lost; held for less, nothing is
// applied out of position order; a rebuild asked for meanwhile swaps in without waiting for it. Each ends equal
// to the plain SQL replay.
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/store.hpp"
#include "examples/user_events.hpp"
#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/faults/reference_models.hpp"
#include "tests/faults/scenario_report.hpp"
#include "tests/faults/scenario_steps.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using projectord::examples::StoredEvent;
using projectord::testing::faults::checkpoint_of;
using projectord::testing::faults::ReportAtEnd;
using projectord::testing::faults::ScenarioFigures;

namespace {

constexpr int kBacklog = 200;
constexpr int kLater = 100;  // events committed while the held one waits

std::int64_t insert(pqxx::transaction_base& txn, const StoredEvent& event) {
  return txn
      .exec_params1("INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state)"
                    " VALUES ('Shop', $1, $2, $3, $4) RETURNING id",
                    event.originator_id, event.originator_version, event.topic, pqxx::binarystring(event.state))[0]
      .as<std::int64_t>();
}

// The generator's next events, and among them the index of a registration whose user has no other event:
// whenever it is applied, the users model ends the same.
struct Events {
  std::vector<StoredEvent> later;
  StoredEvent held;
};

Events events_after_backlog(projectord::examples::UserEventGenerator& generator) {
  std::vector<StoredEvent> events;
  for (int i = 0; i < kLater + 50; ++i) events.push_back(generator.next());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!events[i].topic.ends_with(":UserRegistered")) continue;
    int of_user = 0;
    for (const StoredEvent& other : events) of_user += other.originator_id == events[i].originator_id;
    if (of_user > 1) continue;
    Events split{{}, events[i]};
    for (std::size_t j = 0; j < events.size() && split.later.size() < kLater; ++j) {
      if (j != i) split.later.push_back(events[j]);
    }
    return split;
  }
  FAIL("no registration without later events of its user among " << events.size() << " events");
  return {};
}

std::string held_config(const std::string& max_hole_wait) {
  return with_admin_token(demo_config("",
                                      "commit_order = \"concurrent\"\nmax_hole_wait = \"" + max_hole_wait +
                                          "\"\nhole_grace = \"100ms\"\n",
                                      "eventsourcing_json"));
}

bool logged(const TestDatabase& db, std::int64_t position) {
  return db.query_int("SELECT count(*) FROM user_event_log WHERE global_position = " + std::to_string(position)) > 0;
}

// Log rows (in the order they were written) whose position is below the row's before them.
std::int64_t out_of_order_log_rows(const TestDatabase& db) {
  return db.query_int(
      "SELECT count(*) FROM (SELECT global_position < lag(global_position) OVER (ORDER BY id) AS back"
      " FROM user_event_log) t WHERE back");
}

// Fills the figures from the models against the SQL replay and returns the differences found, quoted.
std::string compare(const TestDatabase& db, ScenarioFigures& figures, std::int64_t head) {
  auto connection = db.connect();
  const auto models = projectord::testing::faults::compare_with_reference(*connection, head);
  figures.events_written = db.query_int("SELECT count(*) FROM stored_events");
  figures.events_applied = db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log");
  figures.losses = std::max(models.users.missing, models.users.extra) + models.log.missing;
  figures.duplicates = models.log.extra;
  return models.users.sample + models.log.sample;
}

// One scenario's run: a store with the backlog, the daemon caught up on it, then one registration inserted in
// a transaction left open and kLater events committed after it. finish() stops the daemon and asserts that its
// models equal the SQL replay up to the head.
struct HeldInsert {
  HeldInsert(const std::string& scenario, const std::string& max_hole_wait)
      : reported{{.scenario = scenario}}, config(migrated_store(max_hole_wait)),
        daemon({kBinary, "--config", config, "run"}, env_for(db)), endpoint(daemon, kAdminToken) {
    REQUIRE(eventually(
        [&] { return checkpoint_of(db, "user_log") == kBacklog && checkpoint_of(db, "users") == kBacklog; }, 60s));
    reported.figures.observe(daemon.pid());
    const Events events = events_after_backlog(generator);
    held = insert(holder, events.held);
    ++reported.figures.faults_injected;
    auto connection = db.connect();
    for (const StoredEvent& event : events.later) {
      pqxx::work txn(*connection);
      insert(txn, event);
      txn.commit();
    }
    head = held + kLater;
  }

  std::string migrated_store(const std::string& max_hole_wait) {
    REQUIRE(run_command({kWriter, "--url", db.url(), "--events", "0"}).exit_code == 0);
    auto connection = db.connect();
    projectord::bench::append_events(*connection, generator, kBacklog);
    return migrated(db, "held.toml", held_config(max_hole_wait));
  }

  void commit_held() { holder.commit(); }

  void finish() {
    ScenarioFigures& figures = reported.figures;
    figures.observe(daemon.pid());
    CHECK(exit_code_after(daemon, SIGTERM) == 0);
    const std::string differences = compare(db, figures, head);
    INFO("the models against the SQL replay:\n" << differences);
    REQUIRE(figures.duplicates == 0);
    REQUIRE(figures.losses == 0);
  }

  // In construction order.
  ReportAtEnd reported;
  projectord::examples::UserEventGenerator generator{7};
  TestDatabase db;
  std::string config;
  std::unique_ptr<pqxx::connection> holder_connection = db.connect();
  pqxx::work holder{*holder_connection};
  DaemonProcess daemon;
  Endpoint endpoint;
  std::int64_t held = 0;  ///< the position of the insert held open
  std::int64_t head = 0;  ///< the last position written
};

}  // namespace

TEST_CASE("an insert held open past max_hole_wait is applied late, counted in late_arrivals, and never lost",
          "[held]") {
  HeldInsert run("held past max_hole_wait", "2s");
  // The lane gives up on the hole after max_hole_wait and goes on without it.
  REQUIRE(eventually(
      [&] { return checkpoint_of(run.db, "user_log") == run.head && checkpoint_of(run.db, "users") == run.head; },
      60s));
  CHECK_FALSE(logged(run.db, run.held));
  CHECK(run.endpoint.handler("user_log").at("late_arrivals").as_int64() == 0);

  run.commit_held();
  REQUIRE(eventually([&] { return logged(run.db, run.held); }, 60s));
  REQUIRE(eventually([&] {
    return run.endpoint.handler("user_log").at("late_arrivals").as_int64() == 1 &&
           run.endpoint.handler("users").at("late_arrivals").as_int64() == 1 &&
           run.db.query_int("SELECT count(*) FROM user_projection WHERE last_event_processed = " +
                            std::to_string(run.held)) == 1;
  }));
  CHECK(run.endpoint.handler("user_log").at("forced_hole_skips").as_int64() >= 1);
  run.finish();
}

TEST_CASE("an insert held open for less than max_hole_wait keeps every later event waiting: nothing out of order",
          "[held]") {
  HeldInsert run("held within max_hole_wait", "5min");
  std::this_thread::sleep_for(3s);  // the fault's duration: the transaction stays open this long
  CHECK(checkpoint_of(run.db, "user_log") < run.held);
  CHECK(run.db.query_int("SELECT count(*) FROM user_event_log") == kBacklog);
  run.commit_held();

  REQUIRE(eventually(
      [&] { return checkpoint_of(run.db, "user_log") == run.head && checkpoint_of(run.db, "users") == run.head; },
      60s));
  CHECK(out_of_order_log_rows(run.db) == 0);
  CHECK(run.endpoint.handler("user_log").at("late_arrivals").as_int64() == 0);
  CHECK(run.endpoint.handler("user_log").at("forced_hole_skips").as_int64() == 0);
  run.finish();
}

TEST_CASE("a rebuild swaps in while an insert is held open below the head, and the held event follows it",
          "[held]") {
  HeldInsert run("rebuild past a held insert", "5min");
  // Under steady out-of-order writers some insert is always in flight: the swap cannot wait for none.
  REQUIRE(run.endpoint.post("/admin/rebuild/users").status == 202);
  REQUIRE(eventually(
      [&] { return run.daemon.log().find("handler=users event=rebuild_ended swapped=true") != std::string::npos; },
      60s));
  CHECK(checkpoint_of(run.db, "users") < run.held);
  run.commit_held();

  REQUIRE(eventually(
      [&] { return checkpoint_of(run.db, "user_log") == run.head && checkpoint_of(run.db, "users") == run.head; },
      60s));
  CHECK(run.endpoint.handler("users").at("forced_hole_skips").as_int64() == 0);
  run.finish();
}
