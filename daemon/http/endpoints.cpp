#include "daemon/http/endpoints.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <map>

#include "daemon/error_class.hpp"
#include "daemon/http/json_text.hpp"
#include "daemon/http/metrics.hpp"
#include "sources/redis/stream_entry_id.hpp"

namespace projectord::http {

namespace {

constexpr const char* kJson = "application/json";
constexpr std::int64_t kDefaultWaitMs = 5000;
constexpr std::int64_t kMaxWaitMs = 300000;
// A scrape renders every handler's families (1-2 ms for 100 handlers); scrapes within this age of the last
// render get its text. Prometheus scrapes every 15 s by default, so nobody sees the difference, and a
// client hammering /metrics costs the lanes one render a second instead of a core.
constexpr auto kMetricsMaxAge = std::chrono::seconds(1);

Response json(unsigned status, const boost::json::value& body) { return {status, kJson, to_json_text(body) + "\n"}; }

Response error(unsigned status, std::string message) { return json(status, {{"error", std::move(message)}}); }

// An error's text quotes event data (a duplicate key's value) and the servers' words; only a reader with the
// configured admin token sees it, anyone else its class.
boost::json::value class_of(const std::string& last_error) {
  const std::string_view named = error_class(last_error);
  return named.empty() ? boost::json::value(nullptr) : boost::json::value(named);
}

void add_error(boost::json::object& described, const std::string& last_error, bool show_errors) {
  described["error_class"] = class_of(last_error);
  if (show_errors) described["last_error"] = last_error;
}

// The status that health reasons are made of, with the error's text replaced by its class where it must not
// be shown (a halted lane's reason is its error).
LaneStatus as_shown(LaneStatus status, bool show_errors) {
  // A rewound source's reason is the daemon's own, made of positions only: everyone needs it to choose a way out.
  const bool positions_only = status.state == LaneState::source_rewound;
  if (!show_errors && !positions_only) status.last_error = std::string(error_class(status.last_error));
  return status;
}

// Progress of a rebuild: the shadow's position against the head, and an ETA from its pace so far.
boost::json::object describe_rebuild(const RebuildStatus& rebuild, Clock::time_point now, bool show_errors) {
  const LaneStatus& shadow = rebuild.shadow;
  const double elapsed = std::chrono::duration<double>(now - rebuild.started).count();
  const double pace = elapsed > 0 ? static_cast<double>(shadow.position) / elapsed : 0;  // positions per second
  boost::json::object described{{"phase", rebuild.phase},
                                {"requested_by", rebuild.requested_by},
                                {"max_rate", rebuild.max_rate},
                                {"state", to_string(shadow.state)},
                                {"position", shadow.position},
                                {"head", shadow.head},
                                {"progress", rebuild.progress()},
                                {"events_applied", shadow.events_applied},
                                {"elapsed_seconds", elapsed}};
  add_error(described, shadow.last_error, show_errors);
  const Position left = shadow.head > shadow.position ? shadow.head - shadow.position : 0;
  described["eta_seconds"] = pace > 0 ? boost::json::value(static_cast<double>(left) / pace) : boost::json::value(nullptr);
  return described;
}

// Who runs the handler: this process or another (this one stands by), since when, and who stands by.
boost::json::object describe_ownership(const LaneOwnership& ownership) {
  boost::json::array standbys;
  for (const auto& standby : ownership.standbys) {
    standbys.push_back({{"host", standby.host}, {"pid", standby.pid}, {"since", standby.since}});
  }
  return {{"this_process", ownership.this_process},
          {"host", ownership.host},
          {"pid", ownership.pid},
          {"epoch", ownership.epoch},
          {"since", ownership.since},
          {"standbys", std::move(standbys)}};
}

boost::json::object describe(const HandlerStatus& handler, const LaneHealth& health, Clock::time_point now,
                             bool show_errors) {
  const LaneStatus& s = handler.status;
  boost::json::object described{{"name", handler.name},
                                {"kind", handler.kind},
                                {"source", handler.source},
                                {"wakeup", handler.wakeup},
                                {"state", health.state},
                                {"reason", health.reason},
                                {"ready", health.ready},
                                {"position", s.position},
                                {"head", s.head},
                                {"lag_positions", health.lag_positions},
                                {"lag_seconds", health.lag_seconds},
                                {"events_applied", s.events_applied},
                                {"dead_letters", s.dead_letters},
                                {"failed_attempts", s.failed_attempts},
                                {"reconnects", s.reconnects},
                                {"late_arrivals", s.late_arrivals},
                                {"forced_hole_skips", s.forced_hole_skips},
                                {"shared_reads", s.shared_reads},
                                {"open_holes", s.open_holes},
                                {"oldest_hole_wait_ms", s.oldest_hole_wait.count()},
                                {"blocking_xmin", s.blocking_xmin}};
  add_error(described, s.last_error, show_errors);
  if (s.halted_at != 0) described["halted_at"] = s.halted_at;
  if (handler.partition) {
    described["partition"] = {{"handler", handler.partition->handler},
                              {"index", handler.partition->index},
                              {"count", handler.partition->count}};
  }
  if (handler.stream_source) {
    described["entry_id"] = sources::StreamEntryId::from_position(s.position).text();
    described["head_entry_id"] = sources::StreamEntryId::from_position(s.head).text();
  }
  described["lease"] = s.ownership ? boost::json::value(describe_ownership(*s.ownership)) : boost::json::value(nullptr);
  described["rebuild"] =
      handler.rebuild ? describe_rebuild(*handler.rebuild, now, show_errors) : boost::json::value(nullptr);
  return described;
}

Response readiness(const std::vector<HandlerStatus>& handlers, const HealthLimits& limits, bool show_errors) {
  const auto now = std::chrono::steady_clock::now();
  boost::json::array not_ready;
  for (const HandlerStatus& handler : handlers) {
    const LaneStatus shown = as_shown(handler.status, show_errors);
    const LaneHealth health = assess(shown, now, limits);
    if (health.ready) continue;
    boost::json::object entry{{"handler", handler.name},
                              {"state", health.state},
                              {"reason", health.reason.empty() ? shown.last_error : health.reason},
                              {"lag_seconds", health.lag_seconds}};
    add_error(entry, handler.status.last_error, show_errors);
    not_ready.push_back(std::move(entry));
  }
  const bool ready = not_ready.empty();
  return json(ready ? 200 : 503, {{"ready", ready}, {"not_ready", std::move(not_ready)}});
}

Response status(const std::vector<HandlerStatus>& handlers, const HealthLimits& limits, bool show_errors) {
  const auto now = std::chrono::steady_clock::now();
  boost::json::array described;
  // A source as its lanes see it: the highest head any of them read, and who reads it.
  std::map<std::string, boost::json::object> sources;
  bool ready = true;
  for (const HandlerStatus& handler : handlers) {
    const LaneHealth health = assess(as_shown(handler.status, show_errors), now, limits);
    described.push_back(describe(handler, health, now, show_errors));
    ready = ready && health.ready;
    boost::json::object& source = sources[handler.source];
    if (source.empty()) source = {{"name", handler.source}, {"head", 0}, {"handlers", boost::json::array()}};
    source["head"] = std::max(source["head"].as_int64(), handler.status.head);
    source["handlers"].as_array().push_back(boost::json::string(handler.name));
  }
  boost::json::array source_list;
  for (auto& [name, source] : sources) source_list.push_back(std::move(source));
  return json(200, {{"ready", ready}, {"sources", std::move(source_list)}, {"handlers", std::move(described)}});
}

// "/PREFIX/NAME" -> NAME, or "" when the path has another shape.
// The handler named after `prefix`: NAME, or a partition's NAME/INDEX (daemon/partition_lanes.hpp).
std::string_view tail_after(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return {};
  const std::string_view rest = path.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return rest;
  const std::string_view index = rest.substr(slash + 1);
  const bool partition = slash > 0 && !index.empty() &&
                         std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
  return partition ? rest : std::string_view{};
}

std::optional<std::int64_t> non_negative(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

bool handler_exists(const std::vector<HandlerStatus>& handlers, std::string_view name) {
  return std::any_of(handlers.begin(), handlers.end(), [&](const HandlerStatus& h) {
    return h.name == name || (h.partition && h.partition->handler == name);
  });
}

Answer wait_for_checkpoint(const Request& request, std::string_view handler, DaemonView& daemon,
                           CheckpointWaiters& waiters) {
  std::optional<std::int64_t> position;
  std::int64_t timeout_ms = kDefaultWaitMs;
  const auto params = boost::urls::parse_query(request.query);
  if (!params) return error(400, "malformed query string");
  for (const auto& param : *params) {
    const auto value = non_negative(param.value);
    if (param.key == "position") {
      if (!value) return error(400, "position must be a non-negative integer");
      position = *value;
    } else if (param.key == "entry_id") {
      // What XADD answered, for a handler fed by a Redis stream.
      const auto id = sources::StreamEntryId::parse(param.value);
      const auto mapped = id ? id->position() : std::nullopt;
      if (!mapped) return error(400, "entry_id must be a Redis stream entry id such as 1700000000000-0");
      position = *mapped;
    } else if (param.key == "timeout_ms") {
      if (!value || *value > kMaxWaitMs) return error(400, "timeout_ms must be an integer from 0 to 300000");
      timeout_ms = *value;
    } else {
      return error(400, "unknown parameter '" + std::string(param.key) +
                            "': expected position (or entry_id) and timeout_ms");
    }
  }
  if (!position) {
    return error(400, "position is required: GET /wait/HANDLER?position=N&timeout_ms=T (or entry_id=MS-SEQ)");
  }
  if (!handler_exists(daemon.handlers(), handler)) return error(404, "no such handler: " + std::string(handler));

  const std::string name(handler);
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  return Deferred{
      .timeout = timeout,
      .on_timeout = json(408, {{"handler", name},
                               {"reached", false},
                               {"error", "the checkpoint did not reach " + std::to_string(*position) + " within " +
                                             std::to_string(timeout_ms) + " ms"}}),
      .start = [&waiters, name, wanted = *position, timeout](Reply reply) {
        waiters.wait(name, wanted, std::chrono::steady_clock::now() + timeout,
                     [name, reply = std::move(reply)](Position reached) {
                       reply(json(200, {{"handler", name}, {"reached", true}, {"position", reached}}));
                     });
      }};
}

unsigned status_code(AdminResult result) {
  switch (result) {
    case AdminResult::accepted: return 202;
    case AdminResult::no_such_handler: return 404;
    case AdminResult::not_allowed_now: return 409;
  }
  return 500;
}

bool authorized(const Request& request, const std::string& token) {
  if (token.empty()) return true;
  constexpr std::string_view kScheme = "bearer ";
  const std::string_view header = request.authorization;
  if (header.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  return constant_time_equal(header.substr(kScheme.size()), token);
}

Response admin(const Request& request, DaemonView& daemon) {
  if (!authorized(request, daemon.settings().admin_token)) {
    return error(401, "admin calls need 'Authorization: Bearer TOKEN' with the configured admin_token");
  }
  if (request.method != "POST") return error(405, "admin calls are POST requests");
  static const std::pair<std::string_view, AdminAction> kActions[] = {{"/admin/pause/", AdminAction::pause},
                                                                      {"/admin/resume/", AdminAction::resume},
                                                                      {"/admin/skip/", AdminAction::skip},
                                                                      {"/admin/rebuild/", AdminAction::rebuild},
                                                                      {"/admin/retry/", AdminAction::retry},
                                                                      {"/admin/drop/", AdminAction::drop},
                                                                      {"/admin/reset-checkpoint/", AdminAction::reset_checkpoint}};
  for (const auto& [prefix, action] : kActions) {
    const std::string_view handler = tail_after(request.path, prefix);
    if (handler.empty()) continue;
    AdminRequest admin_request{action, std::string(handler), "http", std::nullopt, std::nullopt, std::nullopt};
    const bool on_letters = action == AdminAction::retry || action == AdminAction::drop;
    const bool resetting = action == AdminAction::reset_checkpoint;
    if ((action == AdminAction::rebuild || on_letters || resetting) && !request.query.empty()) {
      const auto params = boost::urls::parse_query(request.query);
      if (!params) return error(400, "malformed query string");
      for (const auto& param : *params) {
        const auto value = non_negative(param.value);
        if (on_letters) {
          if (param.key != "id" || !value) return error(400, "retry and drop take id=N (a dead letter's id)");
          admin_request.dead_letter = *value;
        } else if (resetting) {
          if (param.key != "to" || !value) return error(400, "reset-checkpoint takes to=N (a position)");
          admin_request.reset_to = *value;
        } else {
          if (param.key != "max_rate" || !value) return error(400, "rebuild takes max_rate=N (events/s, 0: unlimited)");
          admin_request.max_rate = *value;
        }
      }
    }
    if (resetting && !admin_request.reset_to) return error(400, "reset-checkpoint needs to=N (a position)");
    const AdminOutcome outcome = daemon.admin(admin_request);
    boost::json::object body{{"handler", handler}, {"outcome", to_string(outcome.result)}, {"message", outcome.message}};
    if (outcome.position) body["position"] = *outcome.position;
    if (outcome.result != AdminResult::accepted) body["error"] = outcome.message;
    return json(status_code(outcome.result), body);
  }
  return error(404, "no such admin call: " + request.path + " (/admin/ACTION/HANDLER: pause, resume, skip, rebuild, retry, drop, reset-checkpoint)");
}

// The last rendered /metrics text; used only on the server's thread.
struct MetricsCache {
  std::string text;
  std::optional<Clock::time_point> rendered_at;
};

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer string is looked at; the lengths only decide the result at the end.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    difference |= static_cast<unsigned char>(x ^ y);
  }
  return difference == 0;
}

Handler make_endpoints(DaemonView& daemon, CheckpointWaiters& waiters, HostPort listen) {
  return [&daemon, &waiters, listen = std::move(listen),
          metrics = std::make_shared<MetricsCache>()](const Request& request) -> Answer {
    if (!host_allowed(request.host, listen)) return error(403, "the Host header names another server");
    if (request.path.starts_with("/admin/")) {
      if (!request.origin.empty()) return error(403, "admin calls from a web page (with an Origin header) are refused");
      return admin(request, daemon);
    }
    if (request.method != "GET") return error(405, "only GET and HEAD are served here");
    if (request.path == "/healthz") return Response{200, "text/plain; charset=utf-8", "ok\n"};
    const EndpointSettings settings = daemon.settings();
    const HealthLimits& limits = settings.limits;
    // Reading is open to all; an error's text only to those admin calls accept.
    // Not "whom admin calls accept": with no token set, that is everyone who reaches a loopback address.
    const bool show_errors = !settings.admin_token.empty() && authorized(request, settings.admin_token);
    if (request.path == "/readyz") return readiness(daemon.handlers(), limits, show_errors);
    if (request.path == "/status") return status(daemon.handlers(), limits, show_errors);
    if (request.path == "/metrics") {
      const auto now = std::chrono::steady_clock::now();
      if (!metrics->rendered_at || now - *metrics->rendered_at >= kMetricsMaxAge) {
        metrics->text = render_metrics(daemon.handlers(), limits);
        metrics->rendered_at = now;
      }
      return Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics->text};
    }
    if (const std::string_view handler = tail_after(request.path, "/wait/"); !handler.empty()) {
      return wait_for_checkpoint(request, handler, daemon, waiters);
    }
    return error(404, "no such endpoint: " + request.path);
  };
}

}  // namespace projectord::http
