#pragma once
/// The daemon's endpoints, served by http::Server:
/// - GET /healthz: 200 while the server's loop answers;
/// - GET /readyz: 200 when every handler is connected, neither halted, source_rewound nor stuck, and its lag is under
///   [http] ready_max_lag; else 503 with the handlers that are not and why, as JSON;
/// - GET /status: every handler's state (daemon/lane_health.hpp), position, head, lag, counters and last
///   error's class (daemon/error_class.hpp), as JSON. /status and /readyz add the error's text (last_error,
///   and in reasons) only for a request that carries the configured admin token: it can quote event data, so
///   with no token set nobody reads it over HTTP (`projectord status --show-errors` reads the database);
/// - GET /metrics: Prometheus text format (daemon/http/metrics.hpp);
/// - GET /wait/HANDLER?position=N&timeout_ms=T: 200 once the handler's checkpoint is at N or past it, 408 when
///   T passes first (read-your-writes for an application that just appended event N);
/// - POST /admin/{pause,resume,skip,rebuild,retry,drop}/HANDLER and /admin/reset-checkpoint/HANDLER?to=N:
///   operator actions, answered with their outcome as JSON {"outcome", "message"}: 202 accepted, 404
///   no_such_handler, 409 not_allowed_now; with [http] admin_token set, only with `Authorization: Bearer
///   TOKEN` (else 401).
/// Errors are JSON {"error": "..."} with a 4xx status. Numbers are written as a person reads them
/// (daemon/http/json_text.hpp).
#include "daemon/checkpoint_waiters.hpp"
#include "daemon/http/handler_status.hpp"
#include "base/http/listen_address.hpp"
#include "base/http/server.hpp"

namespace projectord::http {

/// `daemon` and `waiters` must outlive the server that runs the returned handler. `listen` is where it
/// listens: a request whose Host names neither it nor a loopback name is refused with 403 (DNS rebinding), as
/// is an admin call that carries an Origin header (a web page's form or fetch).
Handler make_endpoints(DaemonView& daemon, CheckpointWaiters& waiters, HostPort listen);

/// Compares in time independent of where the strings differ (a token check must not leak a prefix).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace projectord::http
