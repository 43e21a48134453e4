// A side effect's max_attempts across kill -9s and takeovers: every delivery is recorded before it is sent
// (checkpoints/attempts.hpp), under the lease's epoch, so a daemon killed while it retries gives the next one no
// fresh attempts, and one stopped past its lease sends nothing more once it wakes.
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

// The demo config with a webhook `hook` to `receiver`, migrated. Its backoff is long enough that a signal sent
// right after a delivery comes before the next attempt.
std::string hook_config(const TestDatabase& db, const std::string& name, const WebhookReceiver& receiver) {
  return migrated(db, name,
                  with_admin_token(demo_config()) + "\n[handlers.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
                      std::to_string(receiver.port()) + "/events\"\non_error = \"dead_letter\"\nmax_attempts = " +
                      std::to_string(kMaxAttempts) + "\nretry_backoff = \"300ms\"\nretry_backoff_max = \"300ms\"\n");
}

void check_bounded(const WebhookReceiver& receiver, std::int64_t events) {
  const std::map<std::string, int> deliveries = per_key(receiver);
  CHECK(deliveries.size() == static_cast<std::size_t>(events));
  for (const auto& [key, times] : deliveries) {
    INFO(key);
    CHECK(times <= kMaxAttempts);
  }
}

}  // namespace

TEST_CASE(
    "a webhook whose receiver fails every delivery gets at most max_attempts deliveries of each idempotency key"
    " from daemons killed with -9 while they retry, and the last one dead-letters the events") {
  TestDatabase db;
  write_events(db, 2, 1);
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{503}; });
  const std::string config = hook_config(db, "attempt_kills.toml", receiver);
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
  check_bounded(receiver, events);
  CHECK(exit_code_after(last, SIGTERM) == 0);
}

TEST_CASE(
    "a webhook owner stopped past its lease while it retries sends nothing more once it wakes: the standby that"
    " took over counts its attempts, and no idempotency key gets more than max_attempts deliveries") {
  TestDatabase db;
  write_events(db, 2, 1);
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{503}; });
  const std::string config = hook_config(db, "attempt_takeover.toml", receiver);
  const std::int64_t events = db.query_int("SELECT count(*) FROM stored_events");
  const auto hook_owner = [&] {
    return db.query_int("SELECT coalesce(max(pid), 0) FROM projectord.leases WHERE name = 'hook'");
  };

  DaemonProcess first({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return hook_owner() == first.pid() && !receiver.requests().empty(); }, 60s, 1ms));
  first.signal(SIGSTOP);
  const std::size_t sent_by_first = receiver.requests().size();
  DaemonProcess second({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return hook_owner() == second.pid() && receiver.requests().size() > sent_by_first; },
                     60s));

  first.signal(SIGCONT);
  const Endpoint woken(first, kAdminToken);
  const bool standing_by = eventually([&] {
    const auto entry = woken.handler("hook");
    return !entry.empty() && entry.at("lease").is_object() && !entry.at("lease").at("this_process").as_bool();
  }, 60s);
  INFO(first.log());
  REQUIRE(standing_by);
  REQUIRE(eventually([&] { return hook_dead_letters(db) == events; }, 60s));
  check_bounded(receiver, events);
  CHECK(exit_code_after(second, SIGTERM) == 0);
  CHECK(exit_code_after(first, SIGTERM) == 0);
}
