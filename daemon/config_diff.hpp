#pragma once
/// What a reload changes: for each handler of the running or the wanted configuration, whether its lane
/// starts, restarts, stops or goes on, given which handlers have a replacement waiting for their old lane
/// to end; which process-bound settings the running daemon keeps; whether the endpoints' settings change.
///
/// A pure function of two configurations and the set of waiting replacements: it decides, the supervisor
/// acts. A lane's view of the store changes only with its own handler's settings or its source's; line
/// numbers are not settings. A handler whose replacement is waiting has no lane of its own to retire (its
/// old lane is retiring already), so a change replaces the waiting replacement and a removal drops it.
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "daemon/http/handler_status.hpp"

namespace projectord {

enum class HandlerChange {
  start,            ///< new (or the first configuration): start its lane
  restart,          ///< changed: retire its lane, start the new one once the old has ended
  replace_pending,  ///< changed while its replacement waits: the new one waits instead
  stop,             ///< removed: retire its lane
  drop_pending,     ///< removed while its replacement waits: the replacement never starts
  keep,             ///< unchanged: its lane (or waiting replacement) goes on undisturbed
};

std::string_view to_string(HandlerChange change);

struct ConfigDiff {
  std::map<std::string, HandlerChange> handlers;  ///< every handler of either configuration
  /// Keys whose new value needs a process restart: the running value is kept (database.url, ...).
  std::vector<std::string> kept_running_values;
  bool endpoint_settings_changed = false;
};

/// `running`: the applied configuration, null before the first one. `pending`: handlers whose replacement
/// waits for their old lane to end.
ConfigDiff diff_config(const config::Config* running, const config::Config& wanted,
                       const std::set<std::string>& pending);

/// `wanted` with the process-bound settings of `running` (what kept_running_values names).
config::Config effective_config(const config::Config& running, const config::Config& wanted);

/// The endpoints' settings a configuration gives.
http::EndpointSettings endpoint_settings(const config::Config& config);

}  // namespace projectord
