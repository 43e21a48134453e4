// A writer's transaction holds a position open while later ones commit: held longer than the source's
// max_hole_wait, its event is applied late (and counted in late_arrivals), never lost; held for less, nothing is
// applied out of position order; a rebuild asked for meanwhile swaps in without waiting for it. Each ends equal
// to the plain SQL replay.
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
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

// A store with the backlog, migrated, and the daemon caught up on it.
struct HeldSetting {
  TestDatabase db;
  projectord::examples::UserEventGenerator generator{7};
  std::string config;

  explicit HeldSetting(const std::string& max_hole_wait) {
    REQUIRE(run_command({kWriter, "--url", db.url(), "--events", "0"}).exit_code == 0);
    auto connection = db.connect();
    projectord::bench::append_events(*connection, generator, kBacklog);
    config = migrated(db, "held.toml", held_config(max_hole_wait));
  }
};

// Inserts a registration in `holder` (left open) and commits kLater events after it; returns the held position.
std::int64_t hold_one_under_later(HeldSetting& setting, pqxx::work& holder, ScenarioFigures& figures) {
  const Events events = events_after_backlog(setting.generator);
  const std::int64_t held = insert(holder, events.held);
  ++figures.faults_injected;
  auto connection = setting.db.connect();
  for (const StoredEvent& event : events.later) {
    pqxx::work txn(*connection);
    insert(txn, event);
    txn.commit();
  }
  return held;
}

// Stops the daemon, fills the figures from its models against the SQL replay up to `head` and asserts that
// nothing was lost or duplicated.
void stop_and_compare(DaemonProcess& daemon, const TestDatabase& db, ScenarioFigures& figures, std::int64_t head) {
  figures.observe(daemon.pid());
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
  const std::string differences = compare(db, figures, head);
  INFO("the models against the SQL replay:\n" << differences);
  REQUIRE(figures.duplicates == 0);
  REQUIRE(figures.losses == 0);
}

}  // namespace

TEST_CASE("an insert held open past max_hole_wait is applied late, counted in late_arrivals, and never lost",
          "[held]") {
  ReportAtEnd reported{{.scenario = "held past max_hole_wait"}};
  ScenarioFigures& figures = reported.figures;
  HeldSetting setting("2s");
  const TestDatabase& db = setting.db;
  DaemonProcess daemon({kBinary, "--config", setting.config, "run"}, env_for(db));
  Endpoint endpoint(daemon, kAdminToken);
  REQUIRE(eventually([&] { return checkpoint_of(db, "user_log") == kBacklog; }, 60s));
  figures.observe(daemon.pid());

  auto holder_connection = db.connect();
  pqxx::work holder(*holder_connection);
  const std::int64_t held = hold_one_under_later(setting, holder, figures);
  const std::int64_t head = held + kLater;
  // The lane gives up on the hole after max_hole_wait and goes on without it.
  REQUIRE(eventually([&] { return checkpoint_of(db, "user_log") == head && checkpoint_of(db, "users") == head; },
                     60s));
  CHECK_FALSE(logged(db, held));
  CHECK(endpoint.handler("user_log").at("late_arrivals").as_int64() == 0);

  holder.commit();
  REQUIRE(eventually([&] { return logged(db, held); }, 60s));
  REQUIRE(eventually([&] {
    return endpoint.handler("user_log").at("late_arrivals").as_int64() == 1 &&
           endpoint.handler("users").at("late_arrivals").as_int64() == 1 &&
           db.query_int("SELECT count(*) FROM user_projection WHERE last_event_processed = " +
                        std::to_string(held)) == 1;
  }));
  CHECK(endpoint.handler("user_log").at("forced_hole_skips").as_int64() >= 1);
  stop_and_compare(daemon, db, figures, head);
}

TEST_CASE("an insert held open for less than max_hole_wait keeps every later event waiting: nothing out of order",
          "[held]") {
  ReportAtEnd reported{{.scenario = "held within max_hole_wait"}};
  ScenarioFigures& figures = reported.figures;
  HeldSetting setting("5min");
  const TestDatabase& db = setting.db;
  DaemonProcess daemon({kBinary, "--config", setting.config, "run"}, env_for(db));
  Endpoint endpoint(daemon, kAdminToken);
  REQUIRE(eventually([&] { return checkpoint_of(db, "user_log") == kBacklog; }, 60s));
  figures.observe(daemon.pid());

  auto holder_connection = db.connect();
  pqxx::work holder(*holder_connection);
  const std::int64_t held = hold_one_under_later(setting, holder, figures);
  const std::int64_t head = held + kLater;
  std::this_thread::sleep_for(3s);  // the fault's duration: the transaction stays open this long
  CHECK(checkpoint_of(db, "user_log") < held);
  CHECK(db.query_int("SELECT count(*) FROM user_event_log") == kBacklog);
  holder.commit();

  REQUIRE(eventually([&] { return checkpoint_of(db, "user_log") == head && checkpoint_of(db, "users") == head; },
                     60s));
  CHECK(out_of_order_log_rows(db) == 0);
  CHECK(endpoint.handler("user_log").at("late_arrivals").as_int64() == 0);
  CHECK(endpoint.handler("user_log").at("forced_hole_skips").as_int64() == 0);
  stop_and_compare(daemon, db, figures, head);
}

TEST_CASE("a rebuild swaps in while an insert is held open below the head, and the held event follows it",
          "[held]") {
  ReportAtEnd reported{{.scenario = "rebuild past a held insert"}};
  ScenarioFigures& figures = reported.figures;
  HeldSetting setting("5min");
  const TestDatabase& db = setting.db;
  DaemonProcess daemon({kBinary, "--config", setting.config, "run"}, env_for(db));
  Endpoint endpoint(daemon, kAdminToken);
  REQUIRE(eventually([&] { return checkpoint_of(db, "users") == kBacklog; }, 60s));
  figures.observe(daemon.pid());

  auto holder_connection = db.connect();
  pqxx::work holder(*holder_connection);
  const std::int64_t held = hold_one_under_later(setting, holder, figures);
  const std::int64_t head = held + kLater;
  // Under steady out-of-order writers some insert is always in flight: the swap cannot wait for none.
  REQUIRE(endpoint.post("/admin/rebuild/users").status == 202);
  REQUIRE(eventually(
      [&] { return daemon.log().find("handler=users event=rebuild_ended swapped=true") != std::string::npos; }, 60s));
  CHECK(checkpoint_of(db, "users") < held);
  holder.commit();

  REQUIRE(eventually([&] { return checkpoint_of(db, "user_log") == head && checkpoint_of(db, "users") == head; },
                     60s));
  CHECK(endpoint.handler("users").at("forced_hole_skips").as_int64() == 0);
  stop_and_compare(daemon, db, figures, head);
}
