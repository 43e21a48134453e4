#include "daemon/config_diff.hpp"

namespace projectord {

namespace {

// Line numbers move whenever the file is edited; they are not settings.
config::Handler without_lines(config::Handler handler) {
  handler.line = 0;
  for (config::SqlStatement& statement : handler.statements) statement.line = 0;
  return handler;
}

bool same_settings(const config::Handler& a, const config::Handler& b) { return without_lines(a) == without_lines(b); }

template <class Sources>
bool same_entry(const Sources& a, const Sources& b, const std::string& name) {
  const auto in_a = a.find(name);
  const auto in_b = b.find(name);
  if (in_a == a.end() || in_b == b.end()) return in_a == a.end() && in_b == b.end();
  return in_a->second == in_b->second;
}

bool same_source(const config::Config& a, const config::Config& b, const std::string& name) {
  return same_entry(a.postgres_sources, b.postgres_sources, name) && same_entry(a.redis_sources, b.redis_sources, name);
}

bool same_lane(const config::Config& running, const config::Config& wanted, const std::string& name) {
  const config::Handler& old_handler = running.handlers.at(name);
  const config::Handler& new_handler = wanted.handlers.at(name);
  return same_settings(old_handler, new_handler) && same_source(running, wanted, new_handler.source);
}

bool same_endpoint_settings(const http::EndpointSettings& a, const http::EndpointSettings& b) {
  return a.admin_token == b.admin_token && a.limits.stuck_after == b.limits.stuck_after &&
         a.limits.ready_max_lag == b.limits.ready_max_lag;
}

}  // namespace

std::string_view to_string(HandlerChange change) {
  switch (change) {
    case HandlerChange::start: return "start";
    case HandlerChange::restart: return "restart";
    case HandlerChange::replace_pending: return "replace_pending";
    case HandlerChange::stop: return "stop";
    case HandlerChange::drop_pending: return "drop_pending";
    case HandlerChange::keep: return "keep";
  }
  return "unknown";
}

ConfigDiff diff_config(const config::Config* running, const config::Config& wanted,
                       const std::set<std::string>& pending) {
  ConfigDiff diff;
  if (running == nullptr) {
    for (const auto& [name, handler] : wanted.handlers) diff.handlers.emplace(name, HandlerChange::start);
    diff.endpoint_settings_changed = true;
    return diff;
  }
  for (const auto& [name, handler] : wanted.handlers) {
    const bool waiting = pending.contains(name);
    HandlerChange change = HandlerChange::start;
    if (running->handlers.contains(name)) {
      if (same_lane(*running, wanted, name)) {
        change = HandlerChange::keep;
      } else {
        change = waiting ? HandlerChange::replace_pending : HandlerChange::restart;
      }
    }
    diff.handlers.emplace(name, change);
  }
  for (const auto& [name, handler] : running->handlers) {
    if (wanted.handlers.contains(name)) continue;
    diff.handlers.emplace(name, pending.contains(name) ? HandlerChange::drop_pending : HandlerChange::stop);
  }
  const auto kept = [&](const char* key, const auto& running_value, const auto& wanted_value) {
    if (running_value != wanted_value) diff.kept_running_values.emplace_back(key);
  };
  kept("database.url", running->database_url, wanted.database_url);
  kept("database.synchronous_commit", running->synchronous_commit, wanted.synchronous_commit);
  kept("database.pooling", running->pooling, wanted.pooling);
  kept("database.listen_url", running->listen_url, wanted.listen_url);
  kept("http.listen", running->http.listen, wanted.http.listen);
  kept("daemon.lease_length", running->daemon.lease_length, wanted.daemon.lease_length);
  kept("daemon.lease_renew_interval", running->daemon.lease_renew_interval, wanted.daemon.lease_renew_interval);
  diff.endpoint_settings_changed =
      !same_endpoint_settings(endpoint_settings(*running), endpoint_settings(effective_config(*running, wanted)));
  return diff;
}

config::Config effective_config(const config::Config& running, const config::Config& wanted) {
  config::Config effective = wanted;
  effective.database_url = running.database_url;
  effective.synchronous_commit = running.synchronous_commit;
  effective.pooling = running.pooling;
  effective.listen_url = running.listen_url;
  effective.http.listen = running.http.listen;
  effective.daemon.lease_length = running.daemon.lease_length;
  effective.daemon.lease_renew_interval = running.daemon.lease_renew_interval;
  return effective;
}

http::EndpointSettings endpoint_settings(const config::Config& config) {
  return {config.http.admin_token, {config.daemon.stuck_after, config.http.ready_max_lag}};
}

}  // namespace projectord
