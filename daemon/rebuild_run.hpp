#pragma once
/// A blue/green rebuild lane in progress (a partitioned handler's rebuild has one per partition, members of one
/// cohort): its lane, who asked for it, and the swap handshake with the live lane of its name. The rebuild lane
/// replays history into a shadow; the first time it is at the head it asks (from its own thread) for the live
/// lane to stop, and it may swap once the live lane has finished its transaction in flight. The supervisor
/// stops the live lane on the io thread and reports here when it has.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "daemon/http/handler_status.hpp"
#include "daemon/lane/rebuild_cohort.hpp"
#include "daemon/lane_run.hpp"

namespace projectord {

class RebuildRun {
 public:
  /// `cohort`: shared by the rebuild lanes of one handler, which end one by one; `member`: this lane's index.
  RebuildRun(std::string requested_by, std::int64_t max_rate, Clock::time_point started,
             std::shared_ptr<RebuildCohort> cohort, std::int64_t member);

  /// The rebuild lane's `may_swap` (LaneOptions::Rebuild): its first call runs `stop_live` (which must only
  /// post to the io thread) and answers false; later calls answer whether the live lane has stopped.
  std::function<bool()> swap_gate(std::function<void()> stop_live);
  void live_stopped() { live_stopped_ = true; }

  /// Its lane; set once launched with swap_gate().
  void set_lane(std::unique_ptr<LaneRun> run) { run_ = std::move(run); }
  LaneRun& run() const { return *run_; }

  /// replaying; waiting_for_partitions at live while other partitions' lanes are not; swapping once it asked
  /// for the live lane to stop.
  http::RebuildStatus status() const;
  /// The status /status keeps showing when it gave up (a failed swap, a stream trimmed past what it needs)
  /// rather than being stopped; empty when it swapped or was stopped.
  std::optional<http::RebuildStatus> failure() const;

  RebuildCohort* cohort() const { return cohort_.get(); }
  const std::string& requested_by() const { return requested_by_; }
  std::int64_t max_rate() const { return max_rate_; }

 private:
  std::string requested_by_;
  std::int64_t max_rate_;
  Clock::time_point started_;
  std::atomic<bool> asked_{false};
  std::atomic<bool> live_stopped_{false};
  std::shared_ptr<RebuildCohort> cohort_;
  std::int64_t member_;
  std::unique_ptr<LaneRun> run_;  // declared last: its thread, which calls the swap gate, is joined first
};

}  // namespace projectord
