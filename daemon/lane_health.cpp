#include "daemon/lane_health.hpp"

#include <fmt/format.h>

namespace projectord {

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

LaneHealth assess(const LaneStatus& s, Clock::time_point now, const HealthLimits& limits) {
  LaneHealth health;
  health.lag_positions = s.lag_events ? *s.lag_events : s.head > s.position ? s.head - s.position : 0;
  health.lag_seconds = s.behind_since ? seconds(now - *s.behind_since) : 0;
  // Progress is owed only since work has been waiting: a lane idle at the head for an hour is not stuck the
  // moment a new event arrives.
  std::optional<Clock::time_point> owed_since = s.last_progress;
  if (s.behind_since && (!owed_since || *s.behind_since > *owed_since)) owed_since = s.behind_since;
  const auto since_progress = owed_since ? now - *owed_since : Clock::duration::zero();
  const bool work_waits = health.lag_positions > 0 || s.state == LaneState::waiting_for_hole ||
                          s.state == LaneState::waiting_for_consumer || s.state == LaneState::waiting_for_connection;

  switch (s.state) {
    case LaneState::halted:
    case LaneState::source_rewound:
      // Neither goes on without an operator (a rewound source: unless the store comes back).
      health.state = to_string(s.state);
      health.reason = s.last_error;
      return health;
    case LaneState::paused:
      health.state = "paused";
      // An operator's decision, not a fault; the lag limit still applies.
      health.ready = health.lag_seconds <= seconds(limits.ready_max_lag);
      return health;
    case LaneState::retrying:
      health.state = "retrying";
      health.reason = fmt::format("attempt {} failed, the next in {:.0f} s: {}", s.retry_attempt,
                                  s.retry_at && *s.retry_at > now ? seconds(*s.retry_at - now) : 0.0, s.last_error);
      health.ready = health.lag_seconds <= seconds(limits.ready_max_lag);
      return health;
    case LaneState::starting:
      // A session's setup (its DDL, the checkpoint's row) can wait on a lock like any batch: past stuck_after
      // that is reported below, as a batch would be.
      if (s.busy_since && now - *s.busy_since > limits.stuck_after) break;
      health.state = to_string(s.state);
      return health;
    case LaneState::stopped:
      health.state = to_string(s.state);
      return health;
    default:
      break;
  }

  if (s.busy_since && now - *s.busy_since > limits.stuck_after) {
    health.state = "stuck";
    health.reason = fmt::format("one unit of work has run for {:.0f} s: a hung database server or a lock",
                                seconds(now - *s.busy_since));
  } else if (s.state == LaneState::reconnecting) {
    health.state = work_waits && since_progress > limits.stuck_after ? "stuck" : "reconnecting";
    health.reason = "cannot reach the database: " + s.last_error;
  } else if (s.state == LaneState::waiting_for_hole) {
    const bool stuck = s.oldest_hole_wait > limits.stuck_after;
    health.state = stuck ? "stuck" : "waiting_for_hole";
    if (stuck) {
      health.reason = fmt::format("a hole has waited {:.0f} s for transaction xid {} to end (see pg_stat_activity)",
                                  seconds(s.oldest_hole_wait), s.blocking_xmin);
    }
  } else if (s.state == LaneState::waiting_for_connection && work_waits && since_progress > limits.stuck_after) {
    health.state = "stuck";
    health.reason = fmt::format("no connection for {:.0f} s: the other lanes hold every one [database] "
                                "max_connections allows",
                                seconds(since_progress));
  } else if (work_waits && since_progress > limits.stuck_after) {
    health.state = "stuck";
    health.reason = fmt::format("no progress for {:.0f} s while {} positions wait", seconds(since_progress),
                                health.lag_positions);
  } else if (s.state == LaneState::catching_up && s.lag_growing) {
    health.state = "slow";
    health.reason = "behind the head and the lag grew over the last window";
  } else {
    health.state = to_string(s.state);
  }
  health.ready = health.state != "stuck" && health.state != "reconnecting" &&
                 health.lag_seconds <= seconds(limits.ready_max_lag);
  return health;
}

}  // namespace projectord
