#include "config/notify_route.hpp"

namespace projectord::config {

std::optional<std::string> notify_url(const Config& config, const std::string& url) {
  if (config.pooling == postgres::Pooling::session) return url;
  if (config.listen_url.empty() || url != config.database_url) return std::nullopt;
  return config.listen_url;
}

}  // namespace projectord::config
