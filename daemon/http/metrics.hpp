#pragma once
/// Prometheus metrics of the running daemon, collected at scrape time from the lanes' status and the
/// process (/proc), rendered by prometheus-cpp's TextSerializer.
#include <string>

#include "daemon/http/handler_status.hpp"

namespace projectord::http {

std::string render_metrics(const std::vector<HandlerStatus>& handlers, const HealthLimits& limits);

}  // namespace projectord::http
