#include "daemon/rebuild_run.hpp"

namespace projectord {

RebuildRun::RebuildRun(std::string requested_by, std::int64_t max_rate, Clock::time_point started,
                       std::shared_ptr<RebuildCohort> cohort, std::int64_t member)
    : requested_by_(std::move(requested_by)),
      max_rate_(max_rate),
      started_(started),
      cohort_(std::move(cohort)),
      member_(member) {}

std::function<bool()> RebuildRun::swap_gate(std::function<void()> stop_live) {
  return [this, stop_live = std::move(stop_live)] {
    if (!asked_.exchange(true)) {
      stop_live();
      return false;
    }
    return live_stopped_.load();
  };
}

http::RebuildStatus RebuildRun::status() const {
  const char* phase = cohort_->waiting(member_) ? "waiting_for_partitions" : asked_ ? "swapping" : "replaying";
  return {phase, requested_by_, max_rate_, started_, run_->lane->status()};
}

std::optional<http::RebuildStatus> RebuildRun::failure() const {
  const LaneStatus shadow = run_->lane->status();
  if (shadow.swapped || shadow.last_error.empty() || run_->thread.get_stop_token().stop_requested()) {
    return std::nullopt;
  }
  return http::RebuildStatus{"failed", requested_by_, max_rate_, started_, shadow};
}

}  // namespace projectord
