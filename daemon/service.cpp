#include "daemon/service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <pqxx/connection>
#include <thread>

#include "checkpoints/schema.hpp"
#include "daemon/http/endpoints.hpp"
#include "daemon/lane.hpp"
#include "daemon/sources/notify_listener.hpp"
#include "daemon/systemd_notify.hpp"
#include "handlers/registry.hpp"

namespace projectord {

namespace net = boost::asio;

namespace {

// A missing or outdated schema is a start-up misconfiguration: refuse to run. An unreachable server is
// not: the lanes retry until it is back.
bool schema_ready(const std::string& url) {
  try {
    pqxx::connection connection(url);
    const std::string problem = checkpoints::check_schema(connection);
    if (problem.empty()) return true;
    spdlog::critical("event=startup_failed error=\"{}\"", problem);
    return false;
  } catch (const pqxx::broken_connection& error) {
    spdlog::warn("event=database_unreachable error=\"{}\" action=retrying_in_lanes", error.what());
    return true;
  }
}

}  // namespace

int run_service(const config::Config& config, RunOptions options) {
  if (!schema_ready(config.database_url)) return 1;

  SteadyClock clock;
  std::map<std::string, WakeSignal> wakes;
  std::vector<std::unique_ptr<Lane>> lanes;
  for (const auto& [name, handler] : config.handlers) {
    auto projection = handlers::make_projection(handler);
    if (!projection) {
      spdlog::critical("event=startup_failed error=\"{}\"", projection.error());
      return 1;
    }
    const config::PostgresSource& source = config.sources.at(handler.source);
    lanes.push_back(std::make_unique<Lane>(handler, source, config.database_url, std::move(*projection),
                                           wakes[source.name], clock,
                                           LaneOptions{options.exit_when_caught_up, config.synchronous_commit}));
  }

  // Declared after the lanes it reads: destroyed (and its thread joined) before them.
  std::unique_ptr<http::Server> http_server;
  if (!config.http_listen.empty()) {
    auto started =
        http::Server::start(config.http_listen, http::make_endpoints([&lanes, &config] {
                              std::vector<http::HandlerStatus> statuses;
                              for (const auto& lane : lanes) {
                                const config::Handler& handler = config.handlers.at(lane->name());
                                statuses.push_back({handler.name, handler.kind, handler.source, lane->status()});
                              }
                              return statuses;
                            }));
    if (!started) {
      spdlog::critical("event=startup_failed error=\"{}\"", started.error());
      return 1;
    }
    http_server = std::move(*started);
    spdlog::info("event=http_listening listen={} port={}", config.http_listen, http_server->port());
  }

  net::io_context io(1);
  net::steady_timer status_timer(io);  // READY and STATUS reports to systemd, see below
  std::vector<std::unique_ptr<sources::NotifyListener>> listeners;
  for (const auto& [name, source] : config.sources) {
    if (!wakes.contains(name)) continue;
    listeners.push_back(std::make_unique<sources::NotifyListener>(io, source.url, source.notify_channel, wakes[name]));
    listeners.back()->start();
  }

  std::size_t running = lanes.size();
  auto stop_listeners = [&] {
    for (auto& listener : listeners) listener->stop();
  };
  std::vector<std::jthread> threads;
  for (auto& lane : lanes) {
    threads.emplace_back([&io, &running, &stop_listeners, &status_timer, lane = lane.get()](std::stop_token stop) {
      lane->run(stop);
      net::post(io, [&] {
        if (--running == 0) {
          stop_listeners();
          status_timer.cancel();
          io.stop();
        }
      });
    });
  }
  if (lanes.empty()) {
    spdlog::warn("event=no_handlers config={}", config.file);
    io.stop();
  }

  // READY=1 once every lane has connected and loaded its checkpoint (config, schema check and HTTP bind
  // came before), then a STATUS= line every few seconds.
  bool ready = false;
  std::function<void()> report_status = [&] {
    std::map<std::string_view, int> states;
    for (const auto& lane : lanes) ++states[to_string(lane->status().state)];
    std::string summary = std::to_string(lanes.size()) + " handler(s):";
    for (const auto& [state, count] : states) summary += " " + std::to_string(count) + " " + std::string(state);
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
  net::steady_timer watchdog_timer(io);
  std::function<void()> watch;
  if (const auto interval = watchdog_interval()) {
    const auto stall_limit = std::chrono::duration_cast<Clock::time_point::duration>(*interval / 2);
    watch = [&, stall_limit, period = *interval / 4] {
      const auto now = clock.now();
      bool stalled = false;
      for (const auto& lane : lanes) {
        const auto busy_since = lane->status().busy_since;
        if (busy_since && now - *busy_since > stall_limit) {
          stalled = true;
          spdlog::warn("handler={} event=stalled busy_ms={}", lane->name(),
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

  net::signal_set signals(io, SIGTERM, SIGINT);
  net::steady_timer shutdown_deadline(io);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("event=shutdown signal={} timeout_ms={}", signal, config.daemon.shutdown_timeout.count());
    notify_stopping();
    status_timer.cancel();
    watchdog_timer.cancel();
    for (auto& thread : threads) thread.request_stop();
    for (auto& [name, wake] : wakes) wake.notify();
    stop_listeners();
    shutdown_deadline.expires_after(config.daemon.shutdown_timeout);
    shutdown_deadline.async_wait([&](const boost::system::error_code& timer_ec) {
      if (timer_ec) return;
      // A lane stuck in a hung server call: its transaction has not committed, so exiting loses nothing.
      spdlog::critical("event=shutdown_timeout lanes_running={}", running);
      spdlog::shutdown();
      std::_Exit(1);
    });
  });

  io.run();
  threads.clear();  // joins
  bool halted = false;
  for (const auto& lane : lanes) {
    const LaneStatus status = lane->status();
    halted = halted || status.state == LaneState::halted;
    spdlog::info("handler={} event=stopped state={} position={} applied={}", lane->name(), to_string(status.state),
                 status.position, status.events_applied);
  }
  // A stop on request is clean even with a halted handler (readiness and metrics said so); a one-shot
  // catch-up reports that it did not get everything to the head.
  return options.exit_when_caught_up && halted ? 1 : 0;
}

}  // namespace projectord
