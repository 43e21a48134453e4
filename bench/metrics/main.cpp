// bench-metrics: GET /metrics under load, and what that load costs dispatching. The daemon runs with many
// handlers (100 by default) on one source; wrk hammers /metrics for a fixed time while the daemon is idle
// (requests/s, latency), then the daemon catches up on N new events twice in the same run, once with no HTTP
// load (the baseline) and once while wrk hammers /metrics; the ratio loaded / baseline is the cost. Last, what
// shared reads give: catch-ups of N new events by a daemon with the source's share_reads off, then by one with
// it on.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "bench/metrics/handler_fleet.hpp"
#include "bench/metrics/wrk.hpp"
#include "bench/support/flags.hpp"
#include "tests/support/free_port.hpp"
#include "bench/support/process.hpp"
#include "bench/support/report.hpp"
#include "bench/support/store.hpp"
#include "bench/support/work_dir.hpp"
#include "tests/support/http_client.hpp"

namespace {

namespace bench = projectord::bench;

constexpr std::string_view kUsage =
    R"(usage: bench-metrics --url CONNINFO --projectord PATH --wrk PATH [--events N] [--handlers H] [--seconds S]
                     [--connections C]

Creates a fresh database `bench_metrics` on the server CONNINFO points at, configures projectord with H
handlers on one eventsourcing_django source (every fourth an event_log, the others sql handlers of one event
type each, every handler its own table) and, with the daemon running:
  wrk on GET /metrics for S seconds, daemon idle   (requests/s, latency p50/p99; target 5,000 requests/s)
  a catch-up of N new events, no HTTP load         (the baseline: events/s)
  a catch-up of N new events, wrk on /metrics      (events/s; target: >= 0.95 of the baseline)
A catch-up is timed from the COMMIT of the N events to every handler's checkpoint at the head. Then that
daemon stops, and a daemon is started with the source's share_reads off, then one with it on; once each is at
the head:
  a catch-up of N new events, share_reads = false  (events/s, projectord's CPU and peak RSS: the baseline)
  a catch-up of N new events, share_reads = true   (events/s, target >= 3x the baseline; peak RSS, target
                                                    within 20 MB of the baseline's)
Exits 1 when a check fails (a /metrics response that is not 200, a handler that does not reach the head, a
read model that misses events), never because of a speed.

options:
  --url CONNINFO       libpq conninfo or URI of a server where we may create databases (required)
  --projectord PATH    the projectord binary (required)
  --wrk PATH           the wrk binary (required)
  --events N           events per catch-up (default 10000)
  --handlers H         handlers configured (default 100), with [database] max_connections = 2H + 4 (a
                       connection pair each); the server needs max_connections >= 2H + 10
  --seconds S          how long wrk runs against the idle daemon (default 10)
  --connections C      wrk's connections (default 4)
)";

constexpr double kTargetRequestsPerSecond = 5000;
constexpr double kTargetDispatchRatio = 0.95;
constexpr double kTargetSharingRatio = 3;
constexpr double kSharingRssAllowanceMb = 20;
constexpr auto kCatchUpTimeout = std::chrono::minutes(10);
// wrk's own limit in the loaded phase: it is stopped as soon as the catch-up ends, long before this.
constexpr auto kLoadedWrkLimit = std::chrono::seconds(3600);
constexpr auto kWrkExitTimeout = std::chrono::seconds(30);

using Clock = std::chrono::steady_clock;

struct CatchUp {
  double seconds = 0;
  bool reached_head = false;
};

// Commits `events` new events at once and times the daemon from that COMMIT until every handler is at the
// head.
CatchUp catch_up(pqxx::connection& connection, projectord::examples::UserEventGenerator& generator, std::int64_t events,
                 const bench::Projectord& projectord, bench::Child& daemon) {
  bench::append_events(connection, generator, events);
  const auto committed = Clock::now();
  CatchUp result;
  result.reached_head = projectord.wait_until_caught_up(daemon, connection, kCatchUpTimeout);
  result.seconds = std::chrono::duration<double>(Clock::now() - committed).count();
  return result;
}

struct Scrape {
  unsigned status = 0;
  std::size_t bytes = 0;
  std::size_t samples = 0;
  std::size_t handlers = 0;  ///< samples of projectord_events_applied_total: one per handler
};

Scrape scrape_metrics(unsigned short port) {
  const projectord::testing::HttpReply reply = projectord::testing::http_request("127.0.0.1", port, "GET", "/metrics");
  Scrape scrape{.status = reply.status, .bytes = reply.body.size(), .samples = 0, .handlers = 0};
  std::istringstream body(reply.body);
  for (std::string line; std::getline(body, line);) {
    if (!line.empty() && !line.starts_with('#')) ++scrape.samples;
    if (line.starts_with("projectord_events_applied_total{")) ++scrape.handlers;
  }
  return scrape;
}

std::string met(bool ok) { return ok ? "met" : "NOT MET"; }

// The sum of the samples whose line starts with `prefix` (a metric's name and its label's brace).
double metric_sum(unsigned short port, std::string_view prefix) {
  std::istringstream body(projectord::testing::http_request("127.0.0.1", port, "GET", "/metrics").body);
  double sum = 0;
  for (std::string line; std::getline(body, line);) {
    if (line.starts_with(prefix)) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

void print_wrk(const std::string& name, const bench::WrkResult& wrk) {
  std::cout << name << ": " << bench::fixed(wrk.requests_per_second(), 0) << " requests/s (" << wrk.requests << " in "
            << bench::fixed(wrk.seconds, 1) << " s), latency p50 " << bench::fixed(wrk.latency_p50_ms, 2) << " ms, p99 "
            << bench::fixed(wrk.latency_p99_ms, 2) << " ms, max " << bench::fixed(wrk.latency_max_ms, 2) << " ms, "
            << wrk.slow << " slower than " << bench::kWrkTimeout.count() << " s; wrk itself used "
            << bench::fixed(wrk.cpu_seconds / wrk.seconds, 2) << " cores" << std::endl;
}

void print_catch_up(const std::string& name, const CatchUp& catch_up, std::int64_t events, std::size_t handlers) {
  const double rate = static_cast<double>(events) / catch_up.seconds;
  std::cout << name << ": " << bench::fixed(rate, 0) << " events/s (" << events << " events to " << handlers
            << " handlers in " << bench::fixed(catch_up.seconds, 2) << " s; "
            << bench::fixed(rate * static_cast<double>(handlers), 0) << " handler-events/s)" << std::endl;
}

// The CPU time process `pid` has used so far (utime + stime of /proc/PID/stat, fields 14 and 15); 0 once it is
// gone.
double cpu_seconds_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  if (text.empty()) return 0;
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // past the command name, which may hold spaces
  std::string field;
  double ticks = 0;
  for (int index = 3; fields >> field && index <= 15; ++index) {
    if (index >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The CPU time of every PostgreSQL process on this machine (bench/run.sh's server is local): over a catch-up,
// what the server spent, its idle neighbours adding next to nothing.
double postgres_cpu_seconds() {
  double seconds = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string command;
    if (std::getline(comm, command) && command == "postgres") seconds += cpu_seconds_of(std::stoi(name));
  }
  return seconds;
}

struct SharingRun {
  CatchUp catch_up;
  double shared_cycles = 0;  ///< the handlers' projectord_shared_reads_total, summed, after the catch-up
  double cpu_seconds = 0;  ///< projectord's, during the catch-up
  double server_cpu_seconds = 0;  ///< PostgreSQL's, during the catch-up
  double peak_rss_mb = 0;  ///< projectord's, over its whole run
};

struct SharedReads {
  SharingRun off;
  SharingRun on;
};

void print_sharing_run(const std::string& name, const SharingRun& run, std::int64_t events, std::size_t handlers) {
  print_catch_up(name, run.catch_up, events, handlers);
  std::cout << "  projectord used " << bench::fixed(run.cpu_seconds, 1) << " CPU s in it ("
            << bench::fixed(run.cpu_seconds / run.catch_up.seconds, 2) << " cores), PostgreSQL "
            << bench::fixed(run.server_cpu_seconds, 1) << " ("
            << bench::fixed(run.server_cpu_seconds / run.catch_up.seconds, 2) << " cores); projectord's peak RSS "
            << bench::fixed(run.peak_rss_mb, 1) << " MiB; " << bench::fixed(run.shared_cycles, 0)
            << " read cycles taken from another handler's read" << std::endl;
}

// A daemon started with the source's reads shared off, then one with them on, each timed on a catch-up of
// `events` new events once it is at the head. Each rewrites the work directory's config.
SharedReads compare_shared_reads(const std::string& binary, const std::string& url, const std::string& work_dir,
                                 const bench::ProjectordOptions& options, pqxx::connection& connection,
                                 projectord::examples::UserEventGenerator& generator, std::int64_t events,
                                 unsigned short port, bench::Checks& checks) {
  SharedReads result;
  for (const bool sharing : {false, true}) {
    bench::ProjectordOptions run_options = options;
    run_options.extra_source_lines = std::string("share_reads = ") + (sharing ? "true" : "false") + "\n";
    const bench::Projectord projectord(binary, url, work_dir, run_options);
    bench::Child daemon(projectord.command({"run"}), projectord.env(), projectord.log_path());
    SharingRun& run = sharing ? result.on : result.off;
    // At the head already: this waits for the lanes to start.
    if (!projectord.wait_until_caught_up(daemon, connection, kCatchUpTimeout)) {
      throw std::runtime_error("projectord did not start its lanes at the head in 10 min:\n" +
                               bench::tail_of(projectord.log_path()));
    }
    bench::settle(connection, {"stored_events"});
    const double cpu_before = cpu_seconds_of(daemon.pid());
    const double server_cpu_before = postgres_cpu_seconds();
    run.catch_up = catch_up(connection, generator, events, projectord, daemon);
    run.cpu_seconds = cpu_seconds_of(daemon.pid()) - cpu_before;
    run.server_cpu_seconds = postgres_cpu_seconds() - server_cpu_before;
    run.shared_cycles = metric_sum(port, "projectord_shared_reads_total{");
    daemon.signal(SIGTERM);
    const bench::ExitInfo exit = daemon.wait();
    checks.expect(exit.exit_code == 0, std::string("projectord exits 0 on SIGTERM, share_reads = ") +
                                           (sharing ? "true" : "false"),
                  "exit " + std::to_string(exit.exit_code));
    run.peak_rss_mb = exit.peak_rss_mb;
    print_sharing_run(sharing ? "catch-up, shared reads" : "catch-up, each handler reading for itself (baseline)", run,
                      events, options.handlers.size());
  }
  return result;
}

void check_wrk(bench::Checks& checks, const std::string& phase, const bench::WrkResult& wrk) {
  checks.expect(wrk.requests > 0 && wrk.bad_status == 0 && wrk.socket_errors == 0,
                phase + ": every /metrics request answered 200",
                std::to_string(wrk.requests) + " requests, " + std::to_string(wrk.bad_status) +
                    " with status >= 400, " + std::to_string(wrk.socket_errors) + " socket errors");
}

int run(bench::Flags& flags) {
  const std::string server_url = flags.required_text("--url");
  const std::string binary = flags.required_text("--projectord");
  const std::string wrk_binary = flags.required_text("--wrk");
  const std::int64_t events = flags.positive("--events", 10'000);
  const auto handlers = static_cast<std::size_t>(flags.positive("--handlers", 100));
  const std::chrono::seconds seconds(flags.positive("--seconds", 10));
  const std::int64_t connections = flags.positive("--connections", 4);
  flags.finish();

  bench::WorkDir work_dir("bench-metrics");
  const std::string url = bench::fresh_database(server_url, "bench_metrics");
  pqxx::connection connection(url);
  bench::print_header("projectord benchmark: /metrics under load", connection);
  std::cout << "handlers: " << handlers << " (" << bench::event_log_handlers(handlers) << " event_log, "
            << handlers - bench::event_log_handlers(handlers) << " sql), one source; wrk: 1 thread, " << connections
            << " connections; catch-ups of " << events << " events" << std::endl;

  bench::create_stored_events(url, work_dir.path() + "/demo-writer.log");
  projectord::examples::UserEventGenerator generator(bench::kSeed);
  const unsigned short port = projectord::testing::free_loopback_port();
  bench::ProjectordOptions options;
  options.handlers = bench::handler_fleet(handlers);
  // Every lane keeps connections of its own (two, and the kept ones): what is measured is the scrapes' cost,
  // not lanes taking turns on a smaller pool.
  options.max_connections = 2 * handlers + 4;
  options.http_listen = "127.0.0.1:" + std::to_string(port);
  const bench::Projectord projectord(binary, url, work_dir.path(), options);
  projectord.migrate();

  // Warm-up, not timed: the daemon starts on N events and catches up (connections, prepared statements,
  // the server's caches); /metrics is served from before the lanes start, so it answers once they are done.
  bench::load_events(connection, generator, events);
  bench::Child daemon(projectord.command({"run"}), projectord.env(), projectord.log_path());
  if (!projectord.wait_until_caught_up(daemon, connection, kCatchUpTimeout)) {
    throw std::runtime_error("projectord did not catch up on the first events in 10 min:\n" +
                             bench::tail_of(projectord.log_path()));
  }
  const Scrape scrape = scrape_metrics(port);
  std::cout << "GET /metrics: status " << scrape.status << ", " << scrape.bytes << " bytes, " << scrape.samples
            << " samples" << std::endl;

  const std::string metrics_url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  bench::Wrk idle_wrk(wrk_binary, metrics_url, connections, seconds, work_dir.path() + "/wrk-idle.log");
  const bench::WrkResult idle = idle_wrk.finish(seconds + kWrkExitTimeout);
  print_wrk("wrk on /metrics, daemon idle", idle);

  bench::settle(connection, {"stored_events"});
  const CatchUp baseline = catch_up(connection, generator, events, projectord, daemon);
  print_catch_up("catch-up, no HTTP load (baseline)", baseline, events, handlers);

  // wrk starts before the COMMIT and stops after the head: its run covers the whole catch-up (checked below).
  bench::settle(connection, {"stored_events"});
  bench::Wrk loaded_wrk(wrk_binary, metrics_url, connections, kLoadedWrkLimit, work_dir.path() + "/wrk-loaded.log");
  const CatchUp loaded = catch_up(connection, generator, events, projectord, daemon);
  loaded_wrk.stop();
  const bench::WrkResult during = loaded_wrk.finish(kWrkExitTimeout);
  print_catch_up("catch-up, wrk on /metrics", loaded, events, handlers);
  print_wrk("wrk on /metrics, during that catch-up", during);

  const double idle_rate = idle.requests_per_second();
  const double dispatch_ratio = baseline.seconds / loaded.seconds;
  std::cout << "summary: /metrics " << bench::fixed(idle_rate, 0) << " requests/s with " << handlers
            << " handlers (target " << bench::fixed(kTargetRequestsPerSecond, 0) << ": "
            << met(idle_rate >= kTargetRequestsPerSecond) << "), p99 " << bench::fixed(idle.latency_p99_ms, 2)
            << " ms; dispatch under /metrics load / baseline: " << bench::ratio(baseline.seconds, loaded.seconds)
            << " (target " << bench::fixed(kTargetDispatchRatio, 2)
            << "x: " << met(dispatch_ratio >= kTargetDispatchRatio) << ")" << std::endl;

  bench::Checks checks;
  checks.expect(scrape.status == 200 && scrape.handlers == handlers, "GET /metrics answers 200 with every handler",
                "status " + std::to_string(scrape.status) + ", " + std::to_string(scrape.handlers) +
                    " projectord_events_applied_total samples");
  check_wrk(checks, "daemon idle", idle);
  check_wrk(checks, "during the catch-up", during);
  checks.expect(during.seconds >= loaded.seconds, "wrk ran through the whole loaded catch-up",
                "wrk " + bench::fixed(during.seconds, 2) + " s, catch-up " + bench::fixed(loaded.seconds, 2) + " s");
  checks.expect(baseline.reached_head && loaded.reached_head, "every handler reached the head in both catch-ups");
  checks.expect(bench::query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                "projectord dead-lettered nothing");
  bench::check_fleet(checks, connection, options.handlers);

  bench::Projectord::stop(daemon, checks);

  const SharedReads shared =
      compare_shared_reads(binary, url, work_dir.path(), options, connection, generator, events, port, checks);
  checks.expect(shared.off.catch_up.reached_head && shared.on.catch_up.reached_head,
                "every handler reached the head with shared reads off and on");
  checks.expect(bench::query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                "projectord dead-lettered nothing with shared reads off or on");
  bench::check_fleet(checks, connection, options.handlers);
  const double sharing_ratio = shared.off.catch_up.seconds / shared.on.catch_up.seconds;
  const double rss_growth = shared.on.peak_rss_mb - shared.off.peak_rss_mb;
  std::cout << "summary: shared reads / each handler reading for itself: "
            << bench::ratio(shared.off.catch_up.seconds, shared.on.catch_up.seconds) << " (target "
            << bench::fixed(kTargetSharingRatio, 0) << "x: " << met(sharing_ratio >= kTargetSharingRatio)
            << "), projectord CPU " << bench::ratio(shared.off.cpu_seconds, shared.on.cpu_seconds)
            << " less, peak RSS " << bench::fixed(rss_growth, 1) << " MB more (target at most "
            << bench::fixed(kSharingRssAllowanceMb, 0) << ": " << met(rss_growth <= kSharingRssAllowanceMb) << ")"
            << std::endl;
  if (checks.failures() != 0) std::cout << "projectord log:\n" << bench::tail_of(projectord.log_path());
  return checks.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return bench::run_main(argc, argv, "bench-metrics", kUsage, run); }
