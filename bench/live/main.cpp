// bench-live: how long an event takes from its writer's COMMIT to being visible in projectord's read model
// while the store is written at a steady rate, next to a same-run baseline: the same writer, trigger,
// NOTIFY and listener with no daemon in between (the trigger sits on stored_events itself). The difference
// is what projectord adds: waking up, reading, projecting, committing.
#include <iostream>
#include <string>

#include "bench/support/flags.hpp"
#include "bench/support/latency.hpp"
#include "bench/support/process.hpp"
#include "bench/support/report.hpp"
#include "bench/support/store.hpp"
#include "bench/support/work_dir.hpp"

namespace {

namespace bench = projectord::bench;

constexpr std::string_view kUsage =
    R"(usage: bench-live --url CONNINFO --projectord PATH [--rate R] [--seconds S] [--preload N]

Creates a fresh database `bench_live` on the server CONNINFO points at with N stored events, then writes R
events per second for S seconds, one per transaction, twice: first with no daemon and a NOTIFY trigger on
stored_events (the baseline), then with `projectord run` caught up and a NOTIFY trigger on its
user_event_log. A listener timestamps each notification; latency = visible - commit. Exits 1 when an event
never becomes visible, projectord adds more than 1 ms at the median or 3 ms at p99 to the baseline's latency,
or projectord does not exit 0 on SIGTERM.

options:
  --url CONNINFO       libpq conninfo or URI of a server where we may create databases (required)
  --projectord PATH    the projectord binary (required)
  --rate R             events per second (default 1000)
  --seconds S          seconds per phase (default 30)
  --preload N          events in the store before the phases (default 10000)
)";

int run(bench::Flags& flags) {
  const std::string server_url = flags.required_text("--url");
  const std::string binary = flags.required_text("--projectord");
  const std::int64_t rate = flags.positive("--rate", 1000);
  const std::int64_t seconds = flags.positive("--seconds", 30);
  const std::int64_t preload = flags.positive("--preload", 10'000);
  flags.finish();

  bench::WorkDir work_dir("bench-live");
  const std::string url = bench::fresh_database(server_url, "bench_live");
  pqxx::connection connection(url);
  bench::print_header("projectord benchmark: live", connection);
  std::cout << "store: " << preload << " events preloaded; writer: " << rate << " events/s for " << seconds
            << " s per phase, one event per transaction" << std::endl;

  bench::create_stored_events(url, work_dir.path() + "/demo-writer.log");
  projectord::examples::UserEventGenerator generator(bench::kSeed);
  bench::load_events(connection, generator, preload);
  bench::ProjectordOptions options;
  options.extra_source_lines = "poll_interval = \"1s\"\n";
  const bench::Projectord projectord(binary, url, work_dir.path(), options);
  projectord.migrate();

  // Baseline: no daemon; the event is "visible" when its own INSERT's notification arrives.
  bench::install_visibility_trigger(connection, "stored_events", "id");
  const bench::LivePhase baseline = bench::measure_visibility(url, generator, rate, seconds);
  bench::drop_visibility_trigger(connection, "stored_events");
  bench::print_phase("baseline, no daemon (writer -> NOTIFY on stored_events -> listener)", baseline);

  // projectord: caught up first (preload and baseline events), then measured on live writes only.
  bench::Child daemon(projectord.command({"run"}), projectord.env(), projectord.log_path());
  if (!projectord.wait_until_caught_up(daemon, connection, std::chrono::minutes(10))) {
    throw std::runtime_error("projectord did not catch up in 10 min");
  }
  bench::install_visibility_trigger(connection, "user_event_log", "global_position");
  const bench::LivePhase live = bench::measure_visibility(url, generator, rate, seconds);
  bench::print_phase("projectord (writer -> projectord -> NOTIFY on user_event_log -> listener)", live);
  // The baseline is close to zero, so the ratio swings with noise; the difference is what projectord adds.
  const double added_p50 = live.latency.p50 - baseline.latency.p50;
  const double added_p99 = live.latency.p99 - baseline.latency.p99;
  std::cout << "ratio projectord / baseline latency: p50 " << bench::ratio(live.latency.p50, baseline.latency.p50)
            << ", p99 " << bench::ratio(live.latency.p99, baseline.latency.p99) << "\n"
            << "projectord adds: p50 " << bench::fixed(added_p50, 2) << " ms, p99 " << bench::fixed(added_p99, 2)
            << " ms" << std::endl;

  bench::Checks checks;
  checks.expect(baseline.all_visible, "baseline: every event became visible");
  checks.expect(live.all_visible, "projectord: every event became visible within 30 s after the writer stopped");
  const std::string at_rate = " at " + std::to_string(rate) + " events/s";
  checks.expect(added_p50 <= 1.0, "projectord adds p50 <= 1 ms" + at_rate, bench::fixed(added_p50, 2) + " ms");
  checks.expect(added_p99 <= 3.0, "projectord adds p99 <= 3 ms" + at_rate, bench::fixed(added_p99, 2) + " ms");
  bench::Projectord::stop(daemon, checks);
  if (checks.failures() != 0) std::cout << "projectord log:\n" << bench::tail_of(projectord.log_path());
  return checks.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return bench::run_main(argc, argv, "bench-live", kUsage, run); }
