#pragma once
/// A lane runs one projection handler over its source: read a settled batch after the checkpoint, apply
/// it and move the checkpoint in the same transaction, repeat; wait for a wake-up when there is nothing
/// to do. Lanes are independent: each has its own connections, checkpoint and thread, so a halted or
/// slow handler never holds back another.
///
/// Failures: a lost connection (or any error the server calls transient) is retried forever with capped
/// backoff, reconnecting and reloading the checkpoint; nothing is skipped. A failing batch is retried event
/// by event; an event that still fails after max_attempts (or cannot be decoded) is the poison event:
/// on_error = "stop" halts this lane only, "dead_letter" records it and moves on.
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "config/config.hpp"
#include "daemon/clock.hpp"
#include "daemon/wake_signal.hpp"
#include "handlers/projection_handler.hpp"

namespace projectord {

enum class LaneState { starting, catching_up, idle, waiting_for_hole, reconnecting, halted, stopped };
std::string_view to_string(LaneState state);

struct LaneStatus {
  LaneState state = LaneState::starting;
  Position position = 0;
  std::int64_t events_applied = 0;
  std::int64_t dead_letters = 0;
  std::int64_t reconnects = 0;
  std::uint64_t forced_hole_skips = 0;
  std::int64_t late_arrivals = 0;                 ///< rows found in holes after the lane had passed them
  std::chrono::milliseconds oldest_hole_wait{0};  ///< how long the oldest unsettled head has waited
  std::uint64_t blocking_xmin = 0;                ///< the oldest running transaction while one waits
  std::string last_error;
  /// When the lane's current unit of work (a read-apply-commit cycle, a reconnect) began; empty while it
  /// waits for events. The watchdog calls a lane busy for too long stalled (a hung server, a lock).
  std::optional<Clock::time_point> busy_since;
};

struct LaneOptions {
  bool exit_when_caught_up = false;        ///< return from run() once a read finds nothing after the checkpoint
  std::string synchronous_commit = "off";  ///< of the write connection ([database] synchronous_commit)
};

class Lane {
 public:
  Lane(config::Handler handler, config::PostgresSource source, std::string target_url,
       std::unique_ptr<handlers::ProjectionHandler> projection, WakeSignal& wake, const Clock& clock,
       LaneOptions options);
  ~Lane();

  /// The lane's thread body; returns when stop is requested, the handler halts, or (with
  /// exit_when_caught_up) the lane has caught up.
  void run(std::stop_token stop);

  LaneStatus status() const;
  const std::string& name() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace projectord
