#pragma once
/// `NOTIFY projectord_control, 'ACTION HANDLER'` on the daemon's database: the admin calls for applications
/// that reach the database but not the HTTP endpoint (a Django admin action runs
/// `SELECT pg_notify('projectord_control', 'rebuild users')`). PostgreSQL checks no privilege on NOTIFY, so the
/// service LISTENs only with [control] notify = true, and a command is obeyed only when the role its sender
/// logged in as is one of [control] allowed_roles. ACTION is pause, resume, rebuild or retry (all of the
/// handler's dead letters); skip and drop lose information and are refused whatever the role, and a handler is
/// rebuilt over NOTIFY at most once per kNotifyRebuildInterval. A NOTIFY has nobody to answer, so refusals are
/// logged: once per role and reason (a warn line), so that no sender can flood the log; repeats at debug.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "daemon/http/handler_status.hpp"

namespace projectord {

inline constexpr std::string_view kControlChannel = "projectord_control";

/// The shortest time between two rebuilds of one handler requested over NOTIFY: an application that sends
/// its rebuild in a loop cannot keep the database replaying.
inline constexpr std::chrono::minutes kNotifyRebuildInterval{1};

/// The request a payload asks for (origin "notify"), or why it is not one.
Result<http::AdminRequest> parse_control(std::string_view payload);

/// One notification on the control channel.
struct ControlMessage {
  std::string_view payload;
  int sender_pid = 0;
  std::optional<std::string_view> sender_role;  ///< its login role; nullopt: the sender had gone when looked up
};

/// Why a message is not obeyed; refusals are logged once per role and reason.
enum class Refusal { sender_gone, role_not_allowed, unparsable, loses_information, rebuild_too_soon };

/// What becomes of one message.
struct Verdict {
  std::optional<http::AdminRequest> request;  ///< the request to hand on (origin "notify:ROLE"); empty: refused
  Refusal refusal = Refusal::role_not_allowed;  ///< refused: the kind of reason
  std::string reason;                           ///< refused: why, for the log
};

/// Judges the control channel's messages under the running [control] settings and remembers what it must:
/// when each handler was last rebuilt over NOTIFY, and which refusals it has logged. One per service, used on
/// its io thread.
class ControlChannel {
 public:
  explicit ControlChannel(const Clock& clock) : clock_(clock) {}

  /// What `message` may do under `settings`; an admitted rebuild starts its handler's interval.
  Verdict judge(const ControlMessage& message, const config::Control& settings);

  /// Judges `message`, hands an admitted request to `daemon`, and logs a refusal (the first of its role and
  /// reason at warn) or a request the daemon did not accept.
  void act(const ControlMessage& message, const config::Control& settings, http::DaemonView& daemon);

 private:
  const Clock& clock_;
  std::map<std::string, Clock::time_point, std::less<>> last_rebuild_;  ///< by handler
  std::set<std::pair<std::string, Refusal>> logged_;                      ///< (role, reason) warned about
};

}  // namespace projectord
