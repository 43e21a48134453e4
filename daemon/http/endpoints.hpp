#pragma once
/// The daemon's read-only endpoints, served by http::Server:
/// - GET /healthz: 200 while the server's loop answers;
/// - GET /readyz: 200 when every handler is connected and not halted (idle, catching up or waiting for a
///   hole), else 503 with the handlers that are not and why, as JSON;
/// - GET /status: every handler's state, position, counters and last error, as JSON;
/// - GET /metrics: Prometheus text format (daemon/http/metrics.hpp).
#include "daemon/http/handler_status.hpp"
#include "daemon/http/server.hpp"

namespace projectord::http {

Handler make_endpoints(StatusProvider handlers);

}  // namespace projectord::http
