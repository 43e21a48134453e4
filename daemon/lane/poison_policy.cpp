#include "daemon/lane/poison_policy.hpp"

#include <algorithm>

namespace projectord {

std::optional<std::chrono::milliseconds> PoisonPolicy::Attempts::after(const LaneFailure& failure) {
  ++made_;
  if (made_ >= max_attempts_ || failure.permanent) return std::nullopt;
  return std::max(backoff_.next(), failure.retry_after);
}

std::string PoisonPolicy::message(const checkpoints::DeadLetter& letter) {
  return "handler " + letter.handler + " failed on source " + letter.source + " position " +
         std::to_string(letter.position) + " (" + letter.event_type + ") after " + std::to_string(letter.attempts) +
         " attempt(s): " + letter.error;
}

}  // namespace projectord
