#include "daemon/service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <pqxx/connection>

#include "checkpoints/schema.hpp"
#include "config/loader.hpp"
#include "daemon/checkpoint_waiters.hpp"
#include "daemon/control_channel.hpp"
#include "daemon/http/endpoints.hpp"
#include "checkpoints/rebuilds.hpp"
#include "sources/postgres/notify_listener.hpp"
#include "daemon/supervisor.hpp"
#include "daemon/systemd_notify.hpp"
#include "handlers/registry.hpp"

namespace projectord {

namespace net = boost::asio;

namespace {

struct Startup {
  bool ready = false;                           ///< schema present and of this version, or server unreachable
  std::vector<std::string> rebuilds_to_resume;  ///< rebuilds a previous run left in progress
};

// A missing or outdated schema is a start-up misconfiguration: refuse to run. An unreachable server is
// not: the lanes retry until it is back (rebuilds in progress then resume at the next start).
Startup check_database(const std::string& url) {
  try {
    pqxx::connection connection(url);
    const std::string problem = checkpoints::check_schema(connection);
    if (!problem.empty()) {
      spdlog::critical("event=startup_failed error=\"{}\"", problem);
      return {};
    }
    return {true, rebuild::in_progress(connection)};
  } catch (const pqxx::broken_connection& error) {
    spdlog::warn("event=database_unreachable error=\"{}\" action=retrying_in_lanes", error.what());
    return {true, {}};
  }
}

void reload(Supervisor& supervisor) {
  const std::string& file = supervisor.config().file;
  spdlog::info("event=reload config={}", file);
  const config::LoadResult loaded = config::load_config(file, handlers::option_table());
  for (const std::string& error : loaded.errors) spdlog::error("event=reload_rejected error=\"{}\"", error);
  if (!loaded.ok()) return;
  if (const auto applied = supervisor.apply(loaded.config); !applied) {
    spdlog::error("event=reload_rejected error=\"{}\"", applied.error());
    return;
  }
  spdlog::set_level(spdlog::level::from_str(loaded.config.daemon.log_level));
  spdlog::info("event=reloaded config={} handlers={}", file, loaded.config.handlers.size());
}

}  // namespace

int run_service(const config::Config& config, RunOptions options) {
  const Startup startup = check_database(config.database_url);
  if (!startup.ready) return 1;

  SteadyClock clock;
  CheckpointWaiters waiters(clock);
  net::io_context io(1);
  net::steady_timer status_timer(io);    // READY and STATUS reports to systemd, see below
  net::steady_timer watchdog_timer(io);  // WATCHDOG pings, see below
  net::signal_set signals(io, SIGTERM, SIGINT);
  net::signal_set reload_signal(io, SIGHUP);
  net::signal_set rebuild_signal(io, SIGUSR1);
  // Declared after what its idle callback touches, before the HTTP server that reads it.
  Supervisor supervisor(io, clock, waiters, options.exit_when_caught_up, [&] {
    status_timer.cancel();
    watchdog_timer.cancel();
    io.stop();
  });
  if (const auto started = supervisor.apply(config); !started) {
    spdlog::critical("event=startup_failed error=\"{}\"", started.error());
    return 1;
  }
  if (config.handlers.empty()) spdlog::warn("event=no_handlers config={}", config.file);
  for (const std::string& handler : startup.rebuilds_to_resume) supervisor.start_rebuild(handler, "resume", true);

  // The admin calls by NOTIFY (daemon/control_channel.hpp), for applications that only reach the database.
  sources::NotifyListener control(io, config.database_url, std::string(kControlChannel),
                                  [&supervisor](std::optional<std::string_view> payload) {
                                    if (!payload) return;
                                    const auto request = parse_control(*payload);
                                    if (!request) {
                                      spdlog::warn("event=control_ignored channel={} error=\"{}\"",
                                                   kControlChannel, request.error());
                                      return;
                                    }
                                    const auto outcome = supervisor.admin(*request);
                                    if (outcome.status >= 300) {
                                      spdlog::warn("handler={} event=control_refused error=\"{}\"", request->handler,
                                                   outcome.message);
                                    }
                                  });
  control.start();

  // Declared after the supervisor it reads: destroyed (and its thread joined) before it.
  std::unique_ptr<http::Server> http_server;
  if (!config.http.listen.empty()) {
    auto started = http::Server::start(config.http.listen, http::make_endpoints(supervisor, waiters));
    if (!started) {
      spdlog::critical("event=startup_failed error=\"{}\"", started.error());
      return 1;
    }
    http_server = std::move(*started);
    spdlog::info("event=http_listening listen={} port={} admin_token={}", config.http.listen, http_server->port(),
                 config.http.admin_token.empty() ? "none" : "required");
  }

  // READY=1 once every lane has connected and loaded its checkpoint (config, schema check and HTTP bind
  // came before), then a STATUS= line every few seconds.
  bool ready = false;
  std::function<void()> report_status = [&] {
    const auto handlers = supervisor.handlers();
    std::map<std::string_view, int> states;
    Position max_lag = 0;
    double max_lag_seconds = 0;
    const auto now = clock.now();
    const HealthLimits limits = supervisor.settings().limits;
    for (const auto& handler : handlers) {
      ++states[to_string(handler.status.state)];
      const LaneHealth health = assess(handler.status, now, limits);
      max_lag = std::max(max_lag, health.lag_positions);
      max_lag_seconds = std::max(max_lag_seconds, health.lag_seconds);
    }
    std::string summary = std::to_string(handlers.size()) + " handler(s):";
    for (const auto& [state, count] : states) summary += " " + std::to_string(count) + " " + std::string(state);
    summary += fmt::format("; max lag {} positions, {:.1f} s", max_lag, max_lag_seconds);
    const bool connected = !states.contains("starting") && !states.contains("reconnecting");
    if (!ready && connected) {
      ready = true;
      spdlog::info("event=ready status=\"{}\"", summary);
      notify_ready(summary);
    } else if (ready) {
      notify_status(summary);
    }
    status_timer.expires_after(ready ? std::chrono::seconds(5) : std::chrono::milliseconds(50));
    status_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) report_status();
    });
  };
  report_status();

  // WATCHDOG=1 only while no lane has been busy with one unit of work for half the watchdog interval: a
  // lane stuck in a hung server call or behind a lock stops the pings, and systemd restarts the service.
  std::function<void()> watch;
  if (const auto interval = watchdog_interval()) {
    const auto stall_limit = std::chrono::duration_cast<Clock::duration>(*interval / 2);
    watch = [&, stall_limit, period = *interval / 4] {
      const auto now = clock.now();
      bool stalled = false;
      for (const auto& handler : supervisor.handlers()) {
        const auto busy_since = handler.status.busy_since;
        if (busy_since && now - *busy_since > stall_limit) {
          stalled = true;
          spdlog::warn("handler={} event=stalled busy_ms={}", handler.name,
                       std::chrono::duration_cast<std::chrono::milliseconds>(now - *busy_since).count());
        }
      }
      if (!stalled) notify_watchdog();
      watchdog_timer.expires_after(period);
      watchdog_timer.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) watch();
      });
    };
    watch();
  }

  // SIGHUP: read the file again; an invalid one is refused and the running configuration stays.
  std::function<void()> await_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      reload(supervisor);
      await_reload();
    });
  };
  await_reload();

  // SIGUSR1: rebuild the handlers marked rebuild_on_signal.
  std::function<void()> await_rebuild_signal = [&] {
    rebuild_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      bool any = false;
      for (const auto& [name, handler] : supervisor.config().handlers) {
        if (!handler.rebuild_on_signal) continue;
        any = true;
        supervisor.start_rebuild(name, "SIGUSR1", false);
      }
      if (!any) spdlog::warn("event=rebuild_signal_ignored reason=\"no handler has rebuild_on_signal = true\"");
      await_rebuild_signal();
    });
  };
  await_rebuild_signal();

  net::steady_timer shutdown_deadline(io);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    const auto timeout = supervisor.config().daemon.shutdown_timeout;
    spdlog::info("event=shutdown signal={} timeout_ms={}", signal, timeout.count());
    notify_stopping();
    reload_signal.cancel();
    rebuild_signal.cancel();
    control.stop();
    shutdown_deadline.expires_after(timeout);
    shutdown_deadline.async_wait([&](const boost::system::error_code& timer_ec) {
      if (timer_ec) return;
      // A lane stuck in a hung server call: its transaction has not committed, so exiting loses nothing.
      spdlog::critical("event=shutdown_timeout lanes_running={}", supervisor.running());
      spdlog::shutdown();
      std::_Exit(1);
    });
    supervisor.stop();
  });

  io.run();
  for (const auto& handler : supervisor.handlers()) {
    spdlog::info("handler={} event=stopped state={} position={} applied={}", handler.name,
                 to_string(handler.status.state), handler.status.position, handler.status.events_applied);
  }
  // A stop on request is clean even with a halted handler (readiness and metrics said so); a one-shot
  // catch-up reports that it did not get everything to the head.
  return options.exit_when_caught_up && supervisor.any_halted() ? 1 : 0;
}

}  // namespace projectord
