#include "daemon/http/endpoints.hpp"

#include <boost/json.hpp>

#include "daemon/http/metrics.hpp"

namespace projectord::http {

namespace {

constexpr const char* kJson = "application/json";

Response json(unsigned status, const boost::json::value& body) {
  return {status, kJson, boost::json::serialize(body) + "\n"};
}

bool is_ready(LaneState state) {
  return state == LaneState::idle || state == LaneState::catching_up || state == LaneState::waiting_for_hole;
}

boost::json::object describe(const HandlerStatus& handler) {
  const LaneStatus& s = handler.status;
  return {{"name", handler.name},
          {"kind", handler.kind},
          {"source", handler.source},
          {"state", to_string(s.state)},
          {"position", s.position},
          {"events_applied", s.events_applied},
          {"dead_letters", s.dead_letters},
          {"reconnects", s.reconnects},
          {"late_arrivals", s.late_arrivals},
          {"forced_hole_skips", s.forced_hole_skips},
          {"oldest_hole_wait_ms", s.oldest_hole_wait.count()},
          {"blocking_xmin", s.blocking_xmin},
          {"last_error", s.last_error}};
}

Response readiness(const std::vector<HandlerStatus>& handlers) {
  boost::json::array not_ready;
  for (const HandlerStatus& handler : handlers) {
    if (is_ready(handler.status.state)) continue;
    not_ready.push_back({{"handler", handler.name},
                         {"state", to_string(handler.status.state)},
                         {"last_error", handler.status.last_error}});
  }
  const bool ready = not_ready.empty();
  return json(ready ? 200 : 503, {{"ready", ready}, {"not_ready", std::move(not_ready)}});
}

Response status(const std::vector<HandlerStatus>& handlers) {
  boost::json::array described;
  bool ready = true;
  for (const HandlerStatus& handler : handlers) {
    described.push_back(describe(handler));
    ready = ready && is_ready(handler.status.state);
  }
  return json(200, {{"ready", ready}, {"handlers", std::move(described)}});
}

}  // namespace

Handler make_endpoints(StatusProvider handlers) {
  return [handlers = std::move(handlers)](const Request& request) -> Response {
    if (request.method != "GET" && request.method != "HEAD") {
      return json(405, {{"error", "only GET and HEAD are served here"}});
    }
    if (request.path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (request.path == "/readyz") return readiness(handlers());
    if (request.path == "/status") return status(handlers());
    if (request.path == "/metrics")
      return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(handlers())};
    return json(404, {{"error", "no such endpoint: " + request.path}});
  };
}

}  // namespace projectord::http
