#pragma once
/// Whose fault a failed step of the lane is, decided once where the error is caught: `transient` (the
/// connection, the server, contention, another process moving the checkpoint: nothing about the events;
/// retried forever in a new session, nothing skipped) or `event` (the events' own: isolated and retried up to
/// max_attempts, then the poison policy applies). A handler says it with handlers::HandlerError; otherwise
/// the server's errors are judged by base/postgres/errors.hpp and every other error is the event's. A setup
/// problem (a missing privilege, or an object `projectord migrate` creates) is no event's fault and no retry
/// mends it: it is not judged but thrown on, ending the session, and the lane stops saying what to grant.
#include <chrono>
#include <exception>
#include <string>

#include "handlers/projection_handler.hpp"

namespace projectord {

struct LaneFailure {
  using Fault = handlers::HandlerError::Fault;
  Fault fault = Fault::event;
  std::string message;                     ///< one line, for logs, last_error and dead letters
  bool permanent = false;                  ///< the event must not be tried again: on_error applies now
  std::chrono::milliseconds retry_after{0};  ///< the least delay before the event's next attempt

  bool transient() const { return fault == Fault::transient; }
};

/// Judges the exception being handled: call it inside a `catch (const std::exception&)` block. Rethrows it
/// when it is a setup problem (postgres::is_setup_problem).
LaneFailure judge_current_exception();

}  // namespace projectord
