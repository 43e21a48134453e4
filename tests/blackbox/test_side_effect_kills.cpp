// A side effect's max_attempts across kill -9s: every delivery is recorded before it is sent
// (checkpoints/attempts.hpp), so a daemon killed while it retries gives the next one no fresh attempts.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

constexpr int kMaxAttempts = 5;

// Deliveries the receiver got, by idempotency key.
std::map<std::string, int> per_key(const WebhookReceiver& receiver) {
  std::map<std::string, int> counts;
  for (const auto& request : receiver.requests()) ++counts[request.headers.at("idempotency-key")];
  return counts;
}

std::int64_t hook_dead_letters(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'hook'");
}

}  // namespace

TEST_CASE(
    "a webhook whose receiver fails every delivery gets at most max_attempts deliveries of each idempotency key"
    " from daemons killed with -9 while they retry, and the last one dead-letters the events") {
  TestDatabase db;
  write_events(db, 2, 1);
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{503}; });
  // A backoff long enough that a kill right after a delivery comes before the next attempt.
  const std::string config =
      migrated(db, "attempt_kills.toml",
               demo_config() + "\n[handlers.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
                   std::to_string(receiver.port()) + "/events\"\non_error = \"dead_letter\"\nmax_attempts = " +
                   std::to_string(kMaxAttempts) + "\nretry_backoff = \"300ms\"\nretry_backoff_max = \"300ms\"\n");
  const std::int64_t events = db.query_int("SELECT count(*) FROM stored_events");

  for (int kill = 0; kill < 3 && hook_dead_letters(db) < events; ++kill) {
    const std::size_t before = receiver.requests().size();
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    // The killed daemon's lease runs out before the next one takes the handler: a wait of seconds.
    REQUIRE(eventually([&] { return receiver.requests().size() > before || hook_dead_letters(db) == events; }, 60s,
                       1ms));
    INFO(daemon.log());
    REQUIRE(daemon.running());
    daemon.signal(SIGKILL);
    REQUIRE(daemon.wait_exit(20s).has_value());
  }
  DaemonProcess last({kBinary, "--config", config, "run"}, env_for(db));
  const bool given_up = eventually([&] { return hook_dead_letters(db) == events; }, 60s);
  INFO(last.log());
  REQUIRE(given_up);
  const std::map<std::string, int> deliveries = per_key(receiver);
  CHECK(deliveries.size() == static_cast<std::size_t>(events));
  for (const auto& [key, times] : deliveries) {
    INFO(key);
    CHECK(times <= kMaxAttempts);
  }
  CHECK(exit_code_after(last, SIGTERM) == 0);
}
