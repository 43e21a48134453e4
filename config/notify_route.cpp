#include "config/notify_route.hpp"

namespace projectord::config {

std::optional<std::string> notify_url(const Config& config, const std::string& url) {
  if (config.pooling == postgres::Pooling::session) return url;
  if (config.listen_url.empty() || url != config.database_url) return std::nullopt;
  return config.listen_url;
}

std::set<std::string> listened_sources(const Config& config) {
  std::set<std::string> listened;
  for (const auto& [name, handler] : config.handlers) {
    const auto postgres = config.postgres_sources.find(handler.source);
    if (postgres != config.postgres_sources.end() && notify_url(config, postgres->second.url)) {
      listened.insert(handler.source);
    }
  }
  return listened;
}

std::size_t kept_connections(const Config& config) {
  const bool control = config.control.notify && notify_url(config, config.database_url);
  return 1 + listened_sources(config).size() + (control ? 1 : 0);
}

std::size_t least_max_connections(const Config& config) { return kept_connections(config) + 3; }

}  // namespace projectord::config
