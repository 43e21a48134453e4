#pragma once
/// What the HTTP endpoints see of the running daemon: every handler's identity and its lane's latest status,
/// the operator actions, and the settings SIGHUP may change. The service implements it over its lanes; the
/// endpoints never touch a database (each `Lane::status()` is a locked copy).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "daemon/lane_status.hpp"
#include "daemon/lane_health.hpp"

namespace projectord::http {

/// A blue/green rebuild in progress (checkpoints/rebuilds.hpp).
struct RebuildStatus {
  /// replaying (into the shadow) | waiting_for_partitions (a partition at live, committed, waiting for the
  /// other partitions' rebuild lanes to be) | swapping (live lane stopping, last catch-up, swap) | failed (it
  /// gave up: shadow.last_error says why; shown until the next rebuild starts)
  std::string phase;
  std::string requested_by;
  std::int64_t max_rate = 0;  ///< events/s, 0: unlimited
  Clock::time_point started;
  LaneStatus shadow;  ///< the rebuild lane's own status

  /// The shadow's position against the head it last read: 0 to 1.
  double progress() const {
    return shadow.head > 0 ? static_cast<double>(shadow.position) / static_cast<double>(shadow.head) : 0;
  }
};

struct HandlerStatus {
  std::string name;
  std::string kind;
  std::string source;
  LaneStatus status;
  std::optional<RebuildStatus> rebuild;
  bool stream_source = false;  ///< fed by a Redis stream: its positions stand for entry ids
  /// How the lane learns of new events: "notify" (a LISTEN wakes it), "poll" (it reads every poll_interval:
  /// nothing can LISTEN, config/notify_route.hpp) or "stream" (its reads block on the Redis stream).
  std::string wakeup;
  std::optional<config::Partition> partition;  ///< the lane of one partition of a partitioned handler
};

enum class AdminAction { pause, resume, skip, rebuild, retry, drop, reset_checkpoint };

/// An operator's call, from HTTP, the control channel or a signal.
struct AdminRequest {
  AdminAction action = AdminAction::pause;
  std::string handler;
  std::string origin;              ///< who asked: http, notify, SIGUSR1, ...
  std::optional<std::int64_t> max_rate;  ///< rebuild: events/s at most (0: unlimited); empty: the handler's setting
  std::optional<std::int64_t> dead_letter;  ///< retry, drop: the dead letter's id; empty: all of the handler's
  std::optional<Position> reset_to;         ///< reset_checkpoint: where the checkpoint goes
};

/// What became of an operator's request; the HTTP endpoints map it to a status code.
enum class AdminResult {
  accepted,         ///< the lane acts on it from its own thread
  no_such_handler,  ///< no handler of that name runs
  not_allowed_now,  ///< the handler is not in a state that allows it (the message says why)
};

constexpr std::string_view to_string(AdminResult result) {
  switch (result) {
    case AdminResult::accepted: return "accepted";
    case AdminResult::no_such_handler: return "no_such_handler";
    case AdminResult::not_allowed_now: return "not_allowed_now";
  }
  return "unknown";
}

struct AdminOutcome {
  AdminResult result = AdminResult::accepted;
  std::string message;
  std::optional<Position> position;  ///< skip: the event that becomes a dead letter; reset_checkpoint: the new checkpoint
};

/// Settings of the endpoints that a reload may change.
struct EndpointSettings {
  std::string admin_token;  ///< empty: admin calls need no token
  HealthLimits limits;
};

class DaemonView {
 public:
  virtual ~DaemonView() = default;
  virtual std::vector<HandlerStatus> handlers() const = 0;
  virtual EndpointSettings settings() const = 0;
  /// Must not block: lanes act on the request from their own threads.
  virtual AdminOutcome admin(const AdminRequest& request) = 0;
};

}  // namespace projectord::http
