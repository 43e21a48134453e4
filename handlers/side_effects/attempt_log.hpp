#pragma once
/// Where a side effect counts its delivery attempts durably, so that no crash, restart or takeover gives an
/// event more than max_attempts deliveries. The lane gives its handler one for each session it holds the
/// handler's lease (ProjectionHandler::count_attempts_in); the daemon's is projectord.attempts
/// (checkpoints/attempts.hpp). `record` commits before it returns, and the handler sends only after it, so
/// every delivery the receiver gets was counted first. A log fenced by a lease that was lost throws from
/// `record` (the lane's failure judgement takes it as transient: another process runs the handler).
#include <map>
#include <vector>

#include "base/position_range.hpp"

namespace projectord::handlers {

class AttemptLog {
 public:
  virtual ~AttemptLog() = default;
  /// The attempts recorded at events after the handler's checkpoint, by range of positions.
  virtual std::map<PositionRange, int> recorded() = 0;
  /// Commits one more attempt at each of `ranges` (distinct ranges).
  virtual void record(const std::vector<PositionRange>& ranges) = 0;
};

}  // namespace projectord::handlers
