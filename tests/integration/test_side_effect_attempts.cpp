// A side effect's delivery attempts counted durably (checkpoints/attempts.hpp, handlers/side_effects/
// side_effect_handler.hpp): recorded before each delivery, loaded by the next session, fenced by the lease, so
// that max_attempts bounds an event's deliveries whatever process sent them.
#include <catch2/catch.hpp>
#include <map>
#include <pqxx/pqxx>
#include <vector>

#include "checkpoints/attempts.hpp"
#include "checkpoints/checkpoint_store.hpp"
#include "checkpoints/leases.hpp"
#include "handlers/side_effects/side_effect_handler.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using projectord::Event;
using projectord::PositionRange;
using projectord::checkpoints::AttemptCounts;
using projectord::checkpoints::LeaseLost;
using projectord::checkpoints::LeaseOwner;
using projectord::checkpoints::record_attempts;
using projectord::checkpoints::recorded_attempts;
using projectord::checkpoints::take_lease;
using projectord::testing::eventually;
using projectord::testing::RunningLane;
using projectord::testing::ScriptedResponse;
using projectord::testing::TestDatabase;
using projectord::testing::WebhookReceiver;
namespace config = projectord::config;
namespace handlers = projectord::handlers;

namespace {

std::int64_t attempt_rows(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.attempts WHERE handler = 'hook'");
}

// The handler's AttemptLog, in memory: what each record asked for.
struct ListedLog final : handlers::AttemptLog {
  std::map<PositionRange, int> before;
  std::vector<std::vector<PositionRange>> records;
  std::map<PositionRange, int> recorded() override { return before; }
  void record(const std::vector<PositionRange>& ranges) override { records.push_back(ranges); }
};

// Takes every event; notes the positions of each call and how many records preceded it.
struct TakingEffect final : handlers::SideEffect {
  const ListedLog& log;
  std::vector<std::pair<std::vector<projectord::Position>, std::size_t>> calls;
  explicit TakingEffect(const ListedLog& log) : log(log) {}
  std::vector<handlers::DeliveryOutcome> deliver(std::span<const Event> events) override {
    std::vector<projectord::Position> positions;
    for (const Event& event : events) positions.push_back(event.position);
    calls.emplace_back(positions, log.records.size());
    return std::vector<handlers::DeliveryOutcome>(events.size());
  }
  std::size_t sent_together() const override { return 64; }
};

std::vector<Event> events_at(std::initializer_list<projectord::Position> positions) {
  std::vector<Event> events;
  for (const projectord::Position position : positions) {
    Event event;
    event.source = "store";
    event.position = position;
    events.push_back(event);
  }
  return events;
}

}  // namespace

TEST_CASE("attempts recorded for a checkpoint are loaded by range after it, and a record deletes those it passed") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  const auto connection = db.connect();
  db.exec("INSERT INTO projectord.checkpoints (handler, source, position) VALUES ('hook', 'store', 0)");
  record_attempts(*connection, "hook", std::nullopt, {{1, 3}});
  record_attempts(*connection, "hook", std::nullopt, {{2, 2}, {5, 6}});
  record_attempts(*connection, "hook", std::nullopt, {{2, 2}});
  CHECK(recorded_attempts(*connection, "hook") == AttemptCounts{{{1, 3}, 1}, {{2, 2}, 2}, {{5, 6}, 1}});
  CHECK(recorded_attempts(*connection, "other").empty());

  db.exec("UPDATE projectord.checkpoints SET position = 3 WHERE handler = 'hook'");
  CHECK(recorded_attempts(*connection, "hook") == AttemptCounts{{{5, 6}, 1}});
  CHECK(attempt_rows(db) == 3);  // passed, still stored: the next record deletes them
  record_attempts(*connection, "hook", std::nullopt, {{7, 7}});
  CHECK(attempt_rows(db) == 2);
}

TEST_CASE("an attempt fenced by an epoch the lease no longer has is refused, and nothing is recorded") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  const auto connection = db.connect();
  const LeaseOwner first{"host-a:10:1", "host-a", 10};
  const LeaseOwner second{"host-b:20:2", "host-b", 20};
  const auto taken = take_lease(*connection, "hook", first, 60s);
  REQUIRE(taken.epoch == 1);
  record_attempts(*connection, "hook", 1, {{1, 1}});
  db.exec("UPDATE projectord.leases SET expires_at = now() - interval '1 second' WHERE name = 'hook'");
  REQUIRE(take_lease(*connection, "hook", second, 60s).epoch == 2);

  CHECK_THROWS_AS(record_attempts(*connection, "hook", 1, {{1, 1}, {2, 2}}), LeaseLost);
  CHECK(recorded_attempts(*connection, "hook") == AttemptCounts{{{1, 1}, 1}});
  record_attempts(*connection, "hook", 2, {{1, 1}});
  CHECK(recorded_attempts(*connection, "hook") == AttemptCounts{{{1, 1}, 2}});
}

TEST_CASE(
    "a side effect handler records one attempt per run of consecutive events before it sends them, and sends"
    " nothing more of an event whose recorded attempts reached max_attempts") {
  TestDatabase db;
  const auto connection = db.connect();
  ListedLog log;
  log.before = {{{3, 3}, 2}, {{1, 4}, 1}};  // event 3: three attempts recorded by earlier sessions
  auto effect = std::make_unique<TakingEffect>(log);
  const TakingEffect& sent = *effect;
  handlers::SideEffectHandler handler("hook", std::move(effect), 3);
  handler.count_attempts_in(log);
  pqxx::work txn(*connection);

  const std::vector<Event> events = events_at({1, 2, 3, 4, 5});
  try {
    handler.apply(txn, events);
    FAIL("event 3 has no attempt left");
  } catch (const handlers::DeliveryFailed& failed) {
    CHECK(failed.permanent);
    CHECK_THAT(failed.what(), Catch::Contains("store:3") && Catch::Contains("3 recorded"));
  }
  REQUIRE(sent.calls.size() == 1);
  CHECK(sent.calls[0].first == std::vector<projectord::Position>{1, 2, 4, 5});
  CHECK(sent.calls[0].second == 1);  // the record came first
  CHECK(log.records == std::vector<std::vector<PositionRange>>{{{1, 2}, {4, 5}}});

  // The lane's replay of event 3 alone: refused again, nothing sent or recorded.
  CHECK_THROWS_AS(handler.apply(txn, std::span(events).subspan(2, 1)), handlers::DeliveryFailed);
  CHECK(sent.calls.size() == 1);
  CHECK(log.records.size() == 1);
}

TEST_CASE("a side effect handler sends a long call in parts its side effect sends together, each recorded before it is sent") {
  TestDatabase db;
  const auto connection = db.connect();
  ListedLog log;
  auto effect = std::make_unique<TakingEffect>(log);
  const TakingEffect& sent = *effect;
  handlers::SideEffectHandler handler("hook", std::move(effect), 5);
  handler.count_attempts_in(log);
  pqxx::work txn(*connection);
  std::vector<Event> events;
  for (projectord::Position position = 1; position <= 150; ++position) events.push_back(events_at({position})[0]);

  handler.apply(txn, events);
  CHECK(log.records == std::vector<std::vector<PositionRange>>{{{1, 64}}, {{65, 128}}, {{129, 150}}});
  REQUIRE(sent.calls.size() == 3);
  for (std::size_t part = 0; part < 3; ++part) {
    CHECK(sent.calls[part].first.front() == static_cast<projectord::Position>(1 + 64 * part));
    CHECK(sent.calls[part].second == part + 1);  // its own record came first, the next one after it
  }
}

TEST_CASE(
    "attempts a killed process recorded count in the next run: a webhook whose receiver always fails sends only"
    " what max_attempts leaves, then dead-letters the event") {
  TestDatabase db;
  projectord::testing::create_store(db);
  projectord::testing::insert_events(db, 1, 1);
  {
    // A process killed after sending three deliveries of store:1, each recorded first, and before its checkpoint
    // moved.
    const auto connection = db.connect();
    for (int attempt = 0; attempt < 3; ++attempt) record_attempts(*connection, "hook", std::nullopt, {{1, 1}});
  }
  WebhookReceiver receiver([](std::size_t, const projectord::testing::ReceivedRequest&) {
    return ScriptedResponse{503};
  });
  RunningLane lane(db, projectord::testing::generic_source(db),
                   projectord::testing::webhook_handler(receiver, config::OnError::dead_letter));
  REQUIRE(eventually([&] {
    return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'hook' AND position = 1") == 1;
  }));
  CHECK(receiver.requests().size() == 2);
  CHECK_THAT(db.query_value("SELECT error FROM projectord.dead_letters WHERE handler = 'hook'"),
             Catch::Contains("no attempt left: 5 recorded"));
}
