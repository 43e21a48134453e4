#include "daemon/control_channel.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <utility>

#include "base/printable.hpp"

namespace projectord {

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

void act_on_control(std::string_view payload, http::DaemonView& daemon) {
  const auto request = parse_control(payload);
  if (!request) {
    spdlog::warn("event=control_ignored channel={} error=\"{}\"", kControlChannel, request.error());
    return;
  }
  const http::AdminOutcome outcome = daemon.admin(*request);
  if (outcome.result != http::AdminResult::accepted) {
    spdlog::warn("handler={} event=control_refused outcome={} error=\"{}\"", printable(request->handler, 64),
                 to_string(outcome.result), printable(outcome.message));
  }
}

}  // namespace projectord
