#include "daemon/service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <pqxx/connection>

#include "base/postgres/conninfo.hpp"
#include "base/postgres/errors.hpp"
#include "checkpoints/rebuilds.hpp"
#include "checkpoints/schema.hpp"
#include "config/loader.hpp"
#include "daemon/checkpoint_waiters.hpp"
#include "daemon/control_channel.hpp"
#include "base/http/listen_address.hpp"
#include "base/printable.hpp"
#include "daemon/http/endpoints.hpp"
#include "daemon/logging/logger.hpp"
#include "daemon/supervisor.hpp"
#include "daemon/systemd_notify.hpp"
#include "config/notify_route.hpp"
#include "sources/postgres/notify_listener.hpp"
#include "handlers/registry.hpp"

namespace projectord {

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

struct Startup {
  bool ready = false;                           ///< schema present and of this version, or server unreachable
  std::vector<rebuild::InProgress> rebuilds_to_resume;  ///< rebuilds a previous run left in progress
};

// A missing or outdated schema, or one this role may not read, is a start-up misconfiguration: refuse to
// run. An unreachable server is not: the lanes retry until it is back (rebuilds in progress then resume at
// the next start).
Startup check_database(const std::string& url) {
  try {
    pqxx::connection connection(postgres::with_keepalives(url));
    const std::string problem = checkpoints::check_schema(connection);
    if (!problem.empty()) {
      spdlog::critical("event=startup_failed error={}", log_value(problem));
      return {};
    }
    return {true, rebuild::in_progress(connection)};
  } catch (const pqxx::broken_connection& error) {
    spdlog::warn("event=database_unreachable error={} action=retrying_in_lanes", log_value(error.what()));
    return {true, {}};
  } catch (const std::exception& error) {
    spdlog::critical("event=startup_failed error={}", log_value(postgres::one_line(error.what())));
    return {};
  }
}

struct StatusSummary {
  std::string text;  ///< "N handler(s): ...; max lag ..."
  bool connected;    ///< no lane is still starting or reconnecting
};

// An exception out of a coroutine of the service ends io_context::run, as one out of a handler does.
void rethrow(std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
}

/// One `projectord run`: the io_context whose thread serves signals, timers, the control channel and the
/// supervisor's callbacks, and what runs on it.
class Service {
 public:
  Service(const std::string& database_url, RunOptions options);

  /// Starts the lanes (resuming `rebuilds_to_resume`), the control channel and the HTTP server.
  Result<void> start(const config::Config& config, const std::vector<rebuild::InProgress>& rebuilds_to_resume);
  /// Runs until the supervisor is idle; returns the process exit code.
  int run();

 private:
  net::awaitable<void> report_status();
  net::awaitable<void> feed_watchdog(std::chrono::microseconds interval);
  /// Runs `action` at each of `signals` until they are cancelled.
  net::awaitable<void> on_each_signal(net::signal_set& signals, void (Service::*action)());
  net::awaitable<void> stop_on_signal();

  /// LISTENs on the control channel while [control] notify is on, and only then.
  void apply_control_settings();
  void on_control(const std::optional<sources::Notification>& notification);
  void reload();
  void rebuild_marked_handlers();
  StatusSummary status_summary() const;
  bool any_lane_stalled(Clock::duration limit) const;
  void on_idle();

  RunOptions options_;
  SteadyClock clock_;
  CheckpointWaiters waiters_{clock_};
  net::io_context io_{1};
  net::steady_timer status_timer_{io_};       // READY and STATUS reports to systemd
  net::steady_timer watchdog_timer_{io_};     // WATCHDOG pings
  net::steady_timer shutdown_deadline_{io_};  // how long lanes may take to stop after SIGTERM/SIGINT
  net::signal_set stop_signals_{io_, SIGTERM, SIGINT};
  net::signal_set reload_signal_{io_, SIGHUP};
  net::signal_set rebuild_signal_{io_, SIGUSR1};
  // Declared after what its idle callback touches, before the listener and the HTTP server that read it.
  Supervisor supervisor_;
  // The admin calls by NOTIFY (daemon/control_channel.hpp), for applications that only reach the database.
  std::string database_url_;
  ControlChannel control_{clock_};
  std::unique_ptr<sources::NotifyListener> control_listener_;  ///< only while [control] notify = true
  // Declared after the supervisor it reads: destroyed (and its thread joined) before it.
  std::unique_ptr<http::Server> http_server_;
};

Service::Service(const std::string& database_url, RunOptions options)
    : options_(options),
      supervisor_(io_, clock_, waiters_, options.exit_when_caught_up, [this] { on_idle(); }),
      database_url_(database_url) {}

// Whatever throws here is a start-up error too (a server message is one line of the log).
Result<void> Service::start(const config::Config& config, const std::vector<rebuild::InProgress>& rebuilds_to_resume) try {
  if (auto started = supervisor_.apply(config); !started) return started;
  if (config.handlers.empty()) spdlog::warn("event=no_handlers config={}", log_value(config.file));
  for (const rebuild::InProgress& rebuild : rebuilds_to_resume) {
    supervisor_.start_rebuild(rebuild.handler, "resume", true, std::nullopt, rebuild.partitions);
  }
  apply_control_settings();
  if (!config.http.listen.empty()) {
    const auto listen = http::split_listen(config.http.listen);
    if (!listen) return fail(listen.error());
    auto started = http::Server::start(config.http.listen, http::make_endpoints(supervisor_, waiters_, *listen));
    if (!started) return fail(started.error());
    http_server_ = std::move(*started);
    spdlog::info("event=http_listening listen={} port={} admin_token={}", config.http.listen, http_server_->port(),
                 config.http.admin_token.empty() ? "none" : "required");
  }
  return {};
} catch (const std::exception& error) {
  return fail(postgres::one_line(error.what()));
}

int Service::run() {
  net::co_spawn(io_, report_status(), rethrow);
  if (const auto interval = watchdog_interval()) net::co_spawn(io_, feed_watchdog(*interval), rethrow);
  // SIGHUP: read the file again; an invalid one is refused and the running configuration stays.
  net::co_spawn(io_, on_each_signal(reload_signal_, &Service::reload), rethrow);
  // SIGUSR1: rebuild the handlers marked rebuild_on_signal.
  net::co_spawn(io_, on_each_signal(rebuild_signal_, &Service::rebuild_marked_handlers), rethrow);
  net::co_spawn(io_, stop_on_signal(), rethrow);
  io_.run();
  for (const auto& handler : supervisor_.handlers()) {
    spdlog::info("handler={} event=stopped state={} position={} applied={}", handler.name,
                 to_string(handler.status.state), handler.status.position, handler.status.events_applied);
  }
  // A stop on request is clean even with a halted handler (readiness and metrics said so); a one-shot
  // catch-up reports that it did not get everything to the head.
  return options_.exit_when_caught_up && supervisor_.any_halted() ? 1 : 0;
}

// READY=1 once every lane has connected and loaded its checkpoint (config, schema check and HTTP bind came
// before), then a STATUS= line every few seconds.
net::awaitable<void> Service::report_status() {
  bool ready = false;
  boost::system::error_code ec;
  while (!ec) {
    const StatusSummary summary = status_summary();
    if (!ready && summary.connected) {
      ready = true;
      spdlog::info("event=ready status=\"{}\"", summary.text);
      notify_ready(summary.text);
    } else if (ready) {
      notify_status(summary.text);
    }
    status_timer_.expires_after(ready ? 5s : 50ms);
    co_await status_timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

// WATCHDOG=1 only while no lane has been busy with one unit of work for half the watchdog interval: a lane
// stuck in a hung server call or behind a lock stops the pings, and systemd restarts the service.
net::awaitable<void> Service::feed_watchdog(std::chrono::microseconds interval) {
  const auto stall_limit = std::chrono::duration_cast<Clock::duration>(interval / 2);
  boost::system::error_code ec;
  while (!ec) {
    if (!any_lane_stalled(stall_limit)) notify_watchdog();
    watchdog_timer_.expires_after(interval / 4);
    co_await watchdog_timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

net::awaitable<void> Service::on_each_signal(net::signal_set& signals, void (Service::*action)()) {
  boost::system::error_code ec;
  while (true) {
    co_await signals.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    (this->*action)();
  }
}

// SIGTERM/SIGINT: each lane finishes or rolls back its batch in flight; the supervisor's idle callback then
// ends run().
net::awaitable<void> Service::stop_on_signal() {
  boost::system::error_code ec;
  const int signal = co_await stop_signals_.async_wait(net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return;
  const auto timeout = supervisor_.config().daemon.shutdown_timeout;
  spdlog::info("event=shutdown signal={} timeout_ms={}", signal, timeout.count());
  notify_stopping();
  reload_signal_.cancel();
  rebuild_signal_.cancel();
  if (control_listener_) control_listener_->stop();
  shutdown_deadline_.expires_after(timeout);
  supervisor_.stop();
  co_await shutdown_deadline_.async_wait(net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return;
  // A lane stuck in a hung server call: its transaction has not committed, so exiting loses nothing.
  spdlog::critical("event=shutdown_timeout lanes_running={}", supervisor_.running());
  spdlog::shutdown();
  std::_Exit(1);
}

void Service::apply_control_settings() {
  const bool wanted = supervisor_.config().control.notify;
  if (wanted == (control_listener_ != nullptr)) return;
  if (!wanted) {
    control_listener_->stop();
    control_listener_.reset();
    spdlog::info("channel={} event=control_off", kControlChannel);
    return;
  }
  const std::optional<std::string> listen_url = config::notify_url(supervisor_.config(), database_url_);
  if (!listen_url) return;  // the loader refuses notify = true where nothing can LISTEN
  control_listener_ = std::make_unique<sources::NotifyListener>(
      io_, *listen_url, std::string(kControlChannel),
      [this](const std::optional<sources::Notification>& notification) { on_control(notification); },
      sources::SenderRoles::look_up);
  control_listener_->start();
}

void Service::on_control(const std::optional<sources::Notification>& notification) {
  if (!notification) return;
  control_.act({notification->payload, notification->sender_pid, notification->sender_role},
               supervisor_.config().control, supervisor_);
}

void Service::reload() {
  const std::string& file = supervisor_.config().file;
  spdlog::info("event=reload config={}", log_value(file));
  const config::LoadResult loaded = config::load_config(file, handlers::option_table());
  for (const std::string& error : loaded.errors) spdlog::error("event=reload_rejected error={}", log_value(error));
  if (!loaded.ok()) return;
  if (const auto applied = supervisor_.apply(loaded.config); !applied) {
    spdlog::error("event=reload_rejected error={}", log_value(applied.error()));
    return;
  }
  logging::apply_log_settings(loaded.config.daemon);
  apply_control_settings();
  spdlog::info("event=reloaded config={} handlers={}", log_value(file), loaded.config.handlers.size());
}

void Service::rebuild_marked_handlers() {
  // A partitioned handler's lanes name it once: it is rebuilt whole.
  std::set<std::string> marked;
  for (const auto& [name, handler] : supervisor_.config().handlers) {
    if (handler.rebuild_on_signal) marked.insert(handler.partition ? handler.partition->handler : name);
  }
  for (const std::string& name : marked) supervisor_.start_rebuild(name, "SIGUSR1", false);
  if (marked.empty()) spdlog::warn("event=rebuild_signal_ignored reason=\"no handler has rebuild_on_signal = true\"");
}

StatusSummary Service::status_summary() const {
  const auto handlers = supervisor_.handlers();
  std::map<std::string_view, int> states;
  Position max_lag = 0;
  double max_lag_seconds = 0;
  const auto now = clock_.now();
  const HealthLimits limits = supervisor_.settings().limits;
  for (const auto& handler : handlers) {
    ++states[to_string(handler.status.state)];
    const LaneHealth health = assess(handler.status, now, limits);
    max_lag = std::max(max_lag, health.lag_positions);
    max_lag_seconds = std::max(max_lag_seconds, health.lag_seconds);
  }
  std::string summary = std::to_string(handlers.size()) + " handler(s):";
  for (const auto& [state, count] : states) summary += " " + std::to_string(count) + " " + std::string(state);
  summary += fmt::format("; max lag {} positions, {:.1f} s", max_lag, max_lag_seconds);
  return {std::move(summary), !states.contains("starting") && !states.contains("reconnecting")};
}

bool Service::any_lane_stalled(Clock::duration limit) const {
  const auto now = clock_.now();
  bool stalled = false;
  for (const auto& handler : supervisor_.handlers()) {
    const auto busy_since = handler.status.busy_since;
    if (busy_since && now - *busy_since > limit) {
      stalled = true;
      spdlog::warn("handler={} event=stalled busy_ms={}", handler.name,
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - *busy_since).count());
    }
  }
  return stalled;
}

void Service::on_idle() {
  status_timer_.cancel();
  watchdog_timer_.cancel();
  io_.stop();
}

}  // namespace

int run_service(const config::Config& config, RunOptions options) {
  const Startup startup = check_database(config.database_url);
  if (!startup.ready) return 1;
  Service service(config.database_url, options);
  if (const auto started = service.start(config, startup.rebuilds_to_resume); !started) {
    spdlog::critical("event=startup_failed error={}", log_value(started.error()));
    return 1;
  }
  return service.run();
}

}  // namespace projectord
