#pragma once
/// An operator's requests to one lane — pause, resume, skip — made from other threads (the admin API, the
/// control channel) and taken up by the lane's thread where it is safe: between transactions for a pause,
/// in its halt for a resume or a skip. The requester passes the lane's state as the lane published it.
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "base/event.hpp"
#include "daemon/lane_status.hpp"
#include "base/result.hpp"

namespace projectord {

class LaneControl {
 public:
  explicit LaneControl(std::string handler) : handler_(std::move(handler)) {}

  // Requests; an error says why the state does not allow it.
  Result<void> pause(LaneState state);
  /// A paused lane goes on; a halted one is asked to retry its poison event.
  Result<void> resume(LaneState state);
  /// `halted_at`: the position the halted lane stopped on (0 while it is still entering its halt).
  Result<Position> skip(LaneState state, Position halted_at);

  // The lane's side.
  bool pause_requested() const;
  /// Returns once resumed, or when `stop` is requested.
  void wait_while_paused(std::stop_token stop);

  enum class Verdict { retry, skip, stop };
  /// The halted lane waits here until an operator resumes it (retry), skips `position`, or `stop`.
  Verdict wait_in_halt(Position position, std::stop_token stop);
  /// Whether a skip of `position` is pending (a halt that was interrupted, e.g. by a lost connection, still
  /// honours it); `skipped` clears it once the event is a dead letter.
  bool skip_requested(Position position) const;
  void skipped(Position position);

 private:
  std::string handler_;
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  bool pause_ = false;            ///< hold before the next read
  bool retry_ = false;            ///< leave the halt, reconnect, try the poison event again
  std::optional<Position> skip_;  ///< dead-letter the poison event at this position instead of halting
};

}  // namespace projectord
