#pragma once
/// Runs a side effect (webhook, celery, redis_publish) in a lane like a projection, so that it gets the
/// same checkpoint, retries, poison-event policy, pause/resume/skip and status; only its work leaves the
/// database. `apply` delivers the events and the lane then moves the checkpoint in its transaction: at
/// least once, because a crash between the two delivers again (receivers deduplicate by the idempotency
/// key). Events delivered in a batch that failed as a whole are remembered, so the lane's event-by-event
/// replay of that batch resends only what was not delivered, and an event refused for good is not sent again.
/// The batch's try counts as an attempt of each event it failed to deliver: the replay's first attempt at
/// such an event reports that failure instead of sending it again. With an AttemptLog (the lane gives one),
/// every delivery is recorded there before it is sent: a long call is sent in parts of 64 events, each
/// recorded (one record per run of consecutive events) once the part before it is sent. An event whose
/// recorded attempts reached max_attempts is refused for good without being sent: so max_attempts bounds an
/// event's deliveries across crashes, restarts and takeovers too.
#include <map>
#include <memory>
#include <set>

#include "handlers/projection_handler.hpp"
#include "handlers/side_effects/attempt_log.hpp"
#include "handlers/side_effects/side_effect.hpp"

namespace projectord::handlers {

class SideEffectHandler final : public ProjectionHandler {
 public:
  SideEffectHandler(std::string name, std::unique_ptr<SideEffect> effect, int max_attempts)
      : name_(std::move(name)), effect_(std::move(effect)), max_attempts_(max_attempts) {}

  std::vector<SetupStatement> setup_sql() const override { return {}; }
  void count_attempts_in(AttemptLog& log) override;
  /// Throws DeliveryFailed for the first event (in order) that was not delivered.
  void apply(pqxx::work& txn, std::span<const Event> events) override;
  void committed(Position position) override;

 private:
  int recorded_attempts(Position position) const;
  /// Records an attempt at `to_deliver` (a subsequence of `events`) before it is sent.
  void record_attempts(std::span<const Event> events, std::span<const Event> to_deliver);

  std::string name_;
  std::unique_ptr<SideEffect> effect_;
  int max_attempts_;
  std::set<Position> delivered_;  ///< delivered, not yet covered by a committed checkpoint
  /// Refused for good (a 4xx, or no attempt left): not sent again when the lane replays the batch to isolate it.
  std::map<Position, DeliveryOutcome> refused_;
  /// Failed for now in a batch's try, not yet reported to the lane event by event (see above).
  std::map<Position, DeliveryOutcome> failed_in_batch_;
  AttemptLog* log_ = nullptr;                 ///< the session's; none: attempts are not recorded
  std::map<PositionRange, int> recorded_;     ///< attempts recorded after the checkpoint
};

}  // namespace projectord::handlers
