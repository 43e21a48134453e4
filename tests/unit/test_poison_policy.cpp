// A handler's poison-event policy (daemon/lane/poison_policy.hpp): attempts, their spacing, and halting.
#include <catch2/catch.hpp>

#include "daemon/lane/poison_policy.hpp"

using namespace projectord;
using namespace std::chrono_literals;

namespace {

config::Handler handler_with(int max_attempts, config::OnError on_error) {
  config::Handler handler;
  handler.name = "users";
  handler.max_attempts = max_attempts;
  handler.retry_backoff = 100ms;
  handler.retry_backoff_max = 400ms;
  handler.on_error = on_error;
  return handler;
}

LaneFailure event_fault(std::string message = "boom") {
  return {LaneFailure::Fault::event, std::move(message)};
}

}  // namespace

TEST_CASE("a failing event is tried max_attempts times, then given up on") {
  const config::Handler handler = handler_with(3, config::OnError::dead_letter);
  const PoisonPolicy policy(handler);
  PoisonPolicy::Attempts attempts = policy.attempts();
  CHECK(attempts.after(event_fault()).has_value());
  CHECK(attempts.after(event_fault()).has_value());
  CHECK_FALSE(attempts.after(event_fault()).has_value());
  CHECK(attempts.made() == 3);
}

TEST_CASE("the delays between attempts back off within retry_backoff and retry_backoff_max") {
  const config::Handler handler = handler_with(10, config::OnError::stop);
  PoisonPolicy::Attempts attempts = PoisonPolicy(handler).attempts();
  for (int i = 0; i < 8; ++i) {
    const auto delay = attempts.after(event_fault());
    REQUIRE(delay.has_value());
    CHECK(*delay >= 50ms);   // jitter draws from [delay/2, delay]
    CHECK(*delay <= 400ms);
  }
}

TEST_CASE("a receiver's Retry-After is the least delay before the next attempt") {
  const config::Handler handler = handler_with(5, config::OnError::stop);
  PoisonPolicy::Attempts attempts = PoisonPolicy(handler).attempts();
  LaneFailure failure = event_fault("429");
  failure.retry_after = 30s;
  CHECK(attempts.after(failure) == 30s);
}

TEST_CASE("a permanent refusal gives an event up at its first attempt") {
  const config::Handler handler = handler_with(5, config::OnError::dead_letter);
  PoisonPolicy::Attempts attempts = PoisonPolicy(handler).attempts();
  LaneFailure failure = event_fault("410 Gone");
  failure.permanent = true;
  CHECK_FALSE(attempts.after(failure).has_value());
  CHECK(attempts.made() == 1);
}

TEST_CASE("on_error stop halts unless the event was given up on before or a skip is pending") {
  const config::Handler stop = handler_with(1, config::OnError::stop);
  const PoisonPolicy halting(stop);
  CHECK(halting.halts(false, false));
  CHECK_FALSE(halting.halts(true, false));
  CHECK_FALSE(halting.halts(false, true));

  const config::Handler dead_letter = handler_with(1, config::OnError::dead_letter);
  CHECK_FALSE(PoisonPolicy(dead_letter).halts(false, false));
}

TEST_CASE("the poison message names the handler, source, position, type, attempts and error") {
  const checkpoints::DeadLetter letter{"users", "store", 23, "user-1", "UserRegistered", "{}", "duplicate key", 5};
  CHECK(PoisonPolicy::message(letter) ==
        "handler users failed on source store position 23 (UserRegistered) after 5 attempt(s): duplicate key");
}
