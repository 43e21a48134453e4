// bench-live: how long an event takes from its writer's COMMIT to being visible in projectord's read model
// while the store is written at a steady rate, next to a same-run baseline: the same writer, trigger,
// NOTIFY and listener with no daemon in between (the trigger sits on stored_events itself). The difference
// is what projectord adds: waking up, reading, projecting, committing.
#include <iostream>
#include <pqxx/nontransaction>
#include <string>

#include "bench/live/latency.hpp"
#include "bench/support/flags.hpp"
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
never becomes visible or projectord does not exit 0 on SIGTERM.

options:
  --url CONNINFO       libpq conninfo or URI of a server where we may create databases (required)
  --projectord PATH    the projectord binary (required)
  --rate R             events per second (default 1000)
  --seconds S          seconds per phase (default 30)
  --preload N          events in the store before the phases (default 10000)
)";

constexpr auto kVisibleTimeout = std::chrono::seconds(30);

// Installs a row trigger on `table` that notifies kVisibleChannel with the event's stored_events id.
void install_visibility_trigger(pqxx::connection& connection, const std::string& table, const std::string& id_column) {
  pqxx::nontransaction txn(connection);
  const std::string function = "bench_notify_" + table;
  txn.exec("CREATE OR REPLACE FUNCTION " + function +
           "() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN PERFORM pg_notify('" + bench::kVisibleChannel + "', NEW." +
           id_column + "::text); RETURN NULL; END$$");
  txn.exec("CREATE TRIGGER bench_visible AFTER INSERT ON " + table + " FOR EACH ROW EXECUTE FUNCTION " + function +
           "()");
}

void drop_visibility_trigger(pqxx::connection& connection, const std::string& table) {
  pqxx::nontransaction txn(connection);
  txn.exec("DROP TRIGGER bench_visible ON " + table);
}

struct Phase {
  bench::LatencySummary latency;
  double achieved_rate = 0;
  std::size_t written = 0;
  bool all_visible = false;
};

// One measurement: the listener runs while the writer writes, then waits for the stragglers.
Phase measure(const std::string& url, projectord::examples::UserEventGenerator& generator, std::int64_t rate,
              std::int64_t seconds) {
  bench::VisibilityListener listener(url);
  pqxx::connection writer(url);
  const bench::WriteRun run = bench::write_at_rate(writer, generator, rate, seconds);
  Phase phase;
  phase.written = run.commits.size();
  phase.achieved_rate = static_cast<double>(run.commits.size()) / run.seconds;
  phase.all_visible = listener.wait_for_all(run.commits, kVisibleTimeout);
  phase.latency = bench::summarize(listener.latencies(run.commits));
  return phase;
}

void print_phase(const std::string& name, const Phase& phase) {
  const bench::LatencySummary& l = phase.latency;
  std::cout << name << ": " << bench::fixed(phase.achieved_rate, 0) << " events/s achieved, latency p50 "
            << bench::fixed(l.p50, 2) << " ms, p90 " << bench::fixed(l.p90, 2) << " ms, p99 " << bench::fixed(l.p99, 2)
            << " ms, max " << bench::fixed(l.max, 2) << " ms (" << l.count << " of " << phase.written << " events seen)"
            << std::endl;
}

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
  install_visibility_trigger(connection, "stored_events", "id");
  const Phase baseline = measure(url, generator, rate, seconds);
  drop_visibility_trigger(connection, "stored_events");
  print_phase("baseline, no daemon (writer -> NOTIFY on stored_events -> listener)", baseline);

  // projectord: caught up first (preload and baseline events), then measured on live writes only.
  bench::Child daemon(projectord.command({"run"}), projectord.env(), projectord.log_path());
  if (!projectord.wait_until_caught_up(daemon, connection, std::chrono::minutes(10))) {
    throw std::runtime_error("projectord did not catch up in 10 min");
  }
  install_visibility_trigger(connection, "user_event_log", "global_position");
  const Phase live = measure(url, generator, rate, seconds);
  print_phase("projectord (writer -> projectord -> NOTIFY on user_event_log -> listener)", live);
  // The baseline is close to zero, so the ratio swings with noise; the difference is what projectord adds.
  std::cout << "ratio projectord / baseline latency: p50 " << bench::ratio(live.latency.p50, baseline.latency.p50)
            << ", p99 " << bench::ratio(live.latency.p99, baseline.latency.p99) << "\n"
            << "projectord adds: p50 " << bench::fixed(live.latency.p50 - baseline.latency.p50, 2) << " ms, p99 "
            << bench::fixed(live.latency.p99 - baseline.latency.p99, 2) << " ms" << std::endl;

  bench::Checks checks;
  checks.expect(baseline.all_visible, "baseline: every event became visible");
  checks.expect(live.all_visible, "projectord: every event became visible within 30 s after the writer stopped");
  bench::Projectord::stop(daemon, checks);
  if (checks.failures() != 0) std::cout << "projectord log:\n" << bench::tail_of(projectord.log_path());
  return checks.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return bench::run_main(argc, argv, "bench-live", kUsage, run); }
