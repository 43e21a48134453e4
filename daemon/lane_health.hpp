#pragma once
/// What operators see of a lane: its state as /status, /readyz and /metrics report it, and why. The lane
/// publishes what it is doing (LaneStatus); this turns it, at a given moment, into one of
///   starting, idle, catching_up, slow (behind and the lag grew over the last window), waiting_for_hole,
///   waiting_for_consumer (a Redis entry pending on another consumer of the group), waiting_for_connection
///   (the other lanes hold every connection the daemon may open), stuck (no progress while work waits: a hole
///   held open by a transaction, a hung server or lock, a database that stays unreachable, no connection),
///   reconnecting, paused, halted, source_rewound (the source went backwards under the checkpoint), stopped
/// with a reason for the ones that need attention.
#include <array>
#include <string>
#include <string_view>

#include "daemon/lane_status.hpp"

namespace projectord {

struct LaneHealth {
  std::string_view state;
  std::string reason;  ///< empty when there is nothing to explain
  double lag_seconds = 0;
  Position lag_positions = 0;  ///< head - position, or the events a Redis-fed lane has not applied
  bool ready = false;  ///< counts as ready for /readyz (connected, not halted or stuck, lag under the limit)
};

struct HealthLimits {
  Clock::duration stuck_after = std::chrono::seconds(60);  ///< without progress while work waits
  Clock::duration ready_max_lag = std::chrono::minutes(5);  ///< lag in seconds above which a lane is not ready
};

LaneHealth assess(const LaneStatus& status, Clock::time_point now, const HealthLimits& limits);

/// Every state `assess` reports, for metrics that list them all.
inline constexpr std::array<std::string_view, 14> kReportedStates{
    "starting", "idle",         "catching_up", "slow",   "waiting_for_hole", "waiting_for_consumer", "waiting_for_connection",
    "stuck",    "reconnecting", "retrying",    "paused", "halted",           "source_rewound",       "stopped"};

}  // namespace projectord
