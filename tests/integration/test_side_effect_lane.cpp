// A side effect run by a lane (handlers/side_effects/side_effect_handler.hpp) over a real PostgreSQL store:
// retries resend only what was not delivered, with one idempotency key; a refusal for good dead-letters at
// once; the checkpoint moves only past delivered (or given-up) events.
#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "tests/support/generic_store.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using projectord::testing::eventually;
using projectord::testing::RunningLane;
using projectord::testing::ScriptedResponse;
using projectord::testing::TestDatabase;
using projectord::testing::webhook_handler;
using projectord::testing::WebhookReceiver;
namespace config = projectord::config;

namespace {

// Requests per idempotency key.
std::map<std::string, int> per_key(const WebhookReceiver& receiver) {
  std::map<std::string, int> counts;
  for (const auto& request : receiver.requests()) ++counts[request.headers.at("idempotency-key")];
  return counts;
}

// A receiver's answer to each request by its idempotency key, the same every time: `status` for the keys
// listed, `otherwise` for the rest.
WebhookReceiver::Responder status_by_key(std::map<std::string, unsigned> status, unsigned otherwise) {
  return [status = std::move(status), otherwise](std::size_t, const projectord::testing::ReceivedRequest& request) {
    const auto listed = status.find(request.headers.at("idempotency-key"));
    return ScriptedResponse{listed != status.end() ? listed->second : otherwise};
  };
}

std::int64_t hook_checkpoint(const TestDatabase& db) {
  return db.query_int("SELECT coalesce(max(position), 0) FROM projectord.checkpoints WHERE handler = 'hook'");
}

}  // namespace

TEST_CASE("a webhook lane whose receiver fails 3 times sends 4 attempts of one key, and the other events once") {
  TestDatabase db;
  projectord::testing::create_store(db);
  projectord::testing::insert_events(db, 1, 3);
  std::mutex mutex;
  int failures_left = 3;
  WebhookReceiver receiver([&](std::size_t, const projectord::testing::ReceivedRequest& request) {
    std::lock_guard lock(mutex);
    if (request.headers.at("idempotency-key") == "store:2" && failures_left > 0) {
      --failures_left;
      return ScriptedResponse{503};
    }
    return ScriptedResponse{200};
  });
  RunningLane lane(db, projectord::testing::generic_source(db), webhook_handler(receiver, config::OnError::stop));
  REQUIRE(eventually([&] { return hook_checkpoint(db) == 3; }));
  CHECK(per_key(receiver) == std::map<std::string, int>{{"store:1", 1}, {"store:2", 4}, {"store:3", 1}});
  CHECK(lane.status().failed_attempts == 3);  // the first reports the batch's try instead of sending again
  CHECK(lane.status().dead_letters == 0);

  projectord::testing::insert_events(db, 4, 4);
  lane.wake();
  REQUIRE(eventually([&] { return hook_checkpoint(db) == 4; }));
  CHECK(per_key(receiver).at("store:4") == 1);
}

TEST_CASE("a webhook lane sends events its receiver always fails max_attempts times each, then dead-letters them") {
  TestDatabase db;
  projectord::testing::create_store(db);
  projectord::testing::insert_events(db, 1, 3);
  WebhookReceiver receiver(status_by_key({{"store:1", 200}}, 503));
  RunningLane lane(db, projectord::testing::generic_source(db),
                   webhook_handler(receiver, config::OnError::dead_letter));
  REQUIRE(eventually([&] { return hook_checkpoint(db) == 3; }));
  // The batch's try of all three is the first of store:2's and store:3's five; the event-by-event replay
  // sends each four more times.
  CHECK(per_key(receiver) == std::map<std::string, int>{{"store:1", 1}, {"store:2", 5}, {"store:3", 5}});
  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'hook' AND attempts = 5") == 2);
  CHECK(lane.status().failed_attempts == 10);
}

TEST_CASE("a webhook lane dead-letters an event its receiver refuses with a 4xx, without retrying it") {
  TestDatabase db;
  projectord::testing::create_store(db);
  projectord::testing::insert_events(db, 1, 3);
  WebhookReceiver receiver(status_by_key({{"store:2", 422}}, 200));
  RunningLane lane(db, projectord::testing::generic_source(db),
                   webhook_handler(receiver, config::OnError::dead_letter));
  REQUIRE(eventually([&] { return hook_checkpoint(db) == 3; }));
  CHECK(per_key(receiver) == std::map<std::string, int>{{"store:1", 1}, {"store:2", 1}, {"store:3", 1}});
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters WHERE handler = 'hook'") == 2);
  CHECK_THAT(db.query_value("SELECT error FROM projectord.dead_letters WHERE handler = 'hook'"),
             Catch::Contains("422") && !Catch::Contains("/events"));
  CHECK(db.query_int("SELECT attempts FROM projectord.dead_letters WHERE handler = 'hook'") == 1);
}

TEST_CASE(
    "a webhook lane that starts at the head begins there when it has no checkpoint and sends only the events"
    " written after, across a restart") {
  TestDatabase db;
  projectord::testing::create_store(db);
  projectord::testing::insert_events(db, 1, 5);
  WebhookReceiver receiver(status_by_key({}, 200));
  config::Handler handler = webhook_handler(receiver, config::OnError::stop);
  handler.start_at_head = true;
  {
    RunningLane lane(db, projectord::testing::generic_source(db), handler);
    REQUIRE(eventually([&] { return hook_checkpoint(db) == 5; }));
    projectord::testing::insert_events(db, 6, 7);
    lane.wake();
    REQUIRE(eventually([&] { return hook_checkpoint(db) == 7; }));
  }
  // A checkpoint exists now: the restarted lane goes on from it, not from the head.
  projectord::testing::insert_events(db, 8, 9);
  RunningLane restarted(db, projectord::testing::generic_source(db), handler);
  REQUIRE(eventually([&] { return hook_checkpoint(db) == 9; }));
  CHECK(per_key(receiver) ==
        std::map<std::string, int>{{"store:6", 1}, {"store:7", 1}, {"store:8", 1}, {"store:9", 1}});
}
