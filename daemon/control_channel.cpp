#include "daemon/control_channel.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "base/printable.hpp"

namespace projectord {

namespace {

Verdict refused(Refusal refusal, std::string reason) { return {std::nullopt, refusal, std::move(reason)}; }

}  // namespace

Result<http::AdminRequest> parse_control(std::string_view payload) {
  static constexpr std::array<std::pair<std::string_view, http::AdminAction>, 6> kActions{{
      {"pause", http::AdminAction::pause},
      {"resume", http::AdminAction::resume},
      {"skip", http::AdminAction::skip},
      {"rebuild", http::AdminAction::rebuild},
      {"retry", http::AdminAction::retry},
      {"drop", http::AdminAction::drop},
  }};
  const auto space = payload.find(' ');
  const std::string_view action = payload.substr(0, space);
  const std::string_view handler = space == std::string_view::npos ? std::string_view{} : payload.substr(space + 1);
  for (const auto& [name, value] : kActions) {
    if (action != name) continue;
    if (handler.empty() || handler.find(' ') != std::string_view::npos) {
      return fail("expected '" + std::string(name) + " HANDLER', got '" + printable(payload) + "'");
    }
    return http::AdminRequest{value, std::string(handler), "notify", std::nullopt, std::nullopt, std::nullopt};
  }
  return fail("unknown action '" + printable(action, 32) + "': expected pause, resume, skip, rebuild, retry or drop");
}

Verdict ControlChannel::judge(const ControlMessage& message, const config::Control& settings) {
  if (!message.sender_role) {
    return refused(Refusal::sender_gone, "the sender (pid " + std::to_string(message.sender_pid) +
                                             ") had gone before its role could be checked");
  }
  const std::string_view role = *message.sender_role;
  if (std::ranges::find(settings.allowed_roles, role) == settings.allowed_roles.end()) {
    return refused(Refusal::role_not_allowed, "the role is not in [control] allowed_roles");
  }
  auto request = parse_control(message.payload);
  if (!request) return refused(Refusal::unparsable, request.error());
  if (request->action == http::AdminAction::skip || request->action == http::AdminAction::drop) {
    return refused(Refusal::loses_information,
                   "skip and drop lose information and are not accepted over NOTIFY: use the HTTP endpoint or "
                   "the CLI");
  }
  if (request->action == http::AdminAction::rebuild) {
    const auto now = clock_.now();
    const auto last = last_rebuild_.find(request->handler);
    if (last != last_rebuild_.end() && now - last->second < kNotifyRebuildInterval) {
      return refused(Refusal::rebuild_too_soon,
                     "handler " + printable(request->handler, 64) + " was rebuilt over NOTIFY less than " +
                         std::to_string(kNotifyRebuildInterval.count()) + " min ago");
    }
    last_rebuild_.insert_or_assign(request->handler, now);
  }
  request->origin = "notify:" + printable(role, 64);
  return {std::move(*request), {}, {}};
}

void ControlChannel::act(const ControlMessage& message, const config::Control& settings, http::DaemonView& daemon) {
  const Verdict verdict = judge(message, settings);
  if (!verdict.request) {
    const std::string role = printable(message.sender_role.value_or(""), 64);
    const bool first = logged_.emplace(role, verdict.refusal).second;
    spdlog::log(first ? spdlog::level::warn : spdlog::level::debug,
                "event=control_refused channel={} role=\"{}\" reason=\"{}\" payload=\"{}\"", kControlChannel, role,
                verdict.reason, printable(message.payload, 64));
    return;
  }
  const http::AdminOutcome outcome = daemon.admin(*verdict.request);
  if (outcome.result != http::AdminResult::accepted) {
    spdlog::warn("handler={} event=control_not_accepted origin={} outcome={} error=\"{}\"",
                 printable(verdict.request->handler, 64), log_value(verdict.request->origin), to_string(outcome.result),
                 printable(outcome.message));
  }
}

}  // namespace projectord
