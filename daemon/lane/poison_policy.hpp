#pragma once
/// A handler's poison-event policy ([handlers.NAME] max_attempts, retry_backoff, retry_backoff_max,
/// on_error): how often and how far apart an event whose apply fails for its own reason is tried again, and
/// what giving up on it means: on_error = "stop" halts the lane on it, "dead_letter" records it and goes on.
/// Decisions only: the lane does the waiting, the halting and the recording.
#include <chrono>
#include <optional>
#include <string>

#include "base/backoff.hpp"
#include "checkpoints/dead_letters.hpp"
#include "config/config.hpp"
#include "daemon/lane/failure.hpp"

namespace projectord {

class PoisonPolicy {
 public:
  explicit PoisonPolicy(const config::Handler& handler) : handler_(handler) {}

  /// One event's attempts, counted from its first.
  class Attempts {
   public:
    /// After a failed attempt: the delay before the next one, or nothing once the event is given up on
    /// (max_attempts used up, or a failure that says no attempt can succeed).
    std::optional<std::chrono::milliseconds> after(const LaneFailure& failure);
    /// The attempts made so far.
    int made() const { return made_; }

   private:
    friend class PoisonPolicy;
    Attempts(int max_attempts, std::chrono::milliseconds backoff, std::chrono::milliseconds backoff_max)
        : max_attempts_(max_attempts), backoff_(backoff, backoff_max) {}
    int max_attempts_;
    Backoff backoff_;
    int made_ = 0;
  };
  Attempts attempts() const { return {handler_.max_attempts, handler_.retry_backoff, handler_.retry_backoff_max}; }

  /// Whether giving up on an event halts the lane: on_error = "stop", unless the handler gave up on it before
  /// (a rebuild replays what the live lane dead-lettered) or an operator asked to skip it.
  bool halts(bool given_up_before, bool skip_requested) const {
    return handler_.on_error == config::OnError::stop && !given_up_before && !skip_requested;
  }

  /// What the halted lane and the dead letter's log line say of the event given up on.
  static std::string message(const checkpoints::DeadLetter& letter);

 private:
  const config::Handler& handler_;
};

}  // namespace projectord
