// bench-rebuild: what a blue/green rebuild costs, next to baselines measured in the same run on the same store:
// its replay rate next to a catch-up from checkpoint 0 (bench-catchup's code path), and the append-to-visible
// latency of a lane that goes on while another handler is rebuilt next to the same latency without a rebuild.
// Then checks that every rebuild swapped and that the swapped-in read models hold every event, those written
// during the rebuild included.
#include <algorithm>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <pqxx/transaction>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "bench/rebuild/rebuild_watch.hpp"
#include "bench/support/flags.hpp"
#include "tests/support/free_port.hpp"
#include "bench/support/latency.hpp"
#include "bench/support/process.hpp"
#include "bench/support/read_models.hpp"
#include "bench/support/report.hpp"
#include "bench/support/store.hpp"
#include "bench/support/work_dir.hpp"
#include "tests/support/http_client.hpp"

namespace {

namespace bench = projectord::bench;
using Clock = std::chrono::steady_clock;
using Stage = bench::RebuildWatch::Stage;

constexpr std::string_view kUsage =
    R"(usage: bench-rebuild --url CONNINFO --projectord PATH [--events N] [--rounds K] [--rate R] [--seconds S]

Creates a fresh database `bench_rebuild` on the server CONNINFO points at, loads N user events into an
eventsourcing_django stored_events table (plain JSON state), configures the demo's handlers `users`
(user_projection) and `user_log` (user_event_log), and measures in the same run:
  catch-up   projectord run --exit-when-caught-up, checkpoint 0 to the head, as bench-catchup does (events/s)
  rebuild    `projectord run` caught up, no writes: both handlers rebuilt at once, the same work as the
             catch-up; from POST /admin/rebuild/NAME to the last swap (events/s; target >= 0.9x the catch-up)
             K rounds of catch-up then rebuild, interleaved, the read models dropped before each catch-up;
             the median of the K ratios is the figure (a shared machine's noise moves single ones by 10%)
  live       R events/s, one per transaction; latency = row visible in user_event_log - writer's COMMIT:
             S seconds without a rebuild, then while `users` is rebuilt, from the request until its replay
             reaches the head (at most S seconds); the user_log lane is measured, which a rebuild of users
             never stops (p50/p99; target: p99 <= 2x that without a rebuild); K rounds of the two phases,
             the median of the K p99 ratios is the figure
then checks that each rebuild swapped and left nothing behind, that the first rebuild's models equal the ones
they replaced, that the final models equal the set-based reference over every event (those written during the
live rounds' rebuilds included), that nothing was dead-lettered, that every live event became visible, and that
projectord exits 0 on SIGTERM. Exits 1 when a check fails, never because of a speed.

options:
  --url CONNINFO       libpq conninfo or URI of a server where we may create databases (required)
  --projectord PATH    the projectord binary (required)
  --events N           events in the store (default 200000)
  --rounds K           rounds of each comparison, catch-up / rebuild and live without / during (default 3)
  --rate R             live events per second (default 200: the phases compare latencies only while the
                       writer keeps its rate in both; a note says when it did not)
  --seconds S          seconds of each live phase, at most (default 10)
)";

constexpr double kTargetReplayRatio = 0.9;
constexpr double kTargetLatencyRatio = 2.0;
constexpr auto kTimeout = std::chrono::minutes(10);

const bench::RebuiltHandler kUsers{"users", "user_projection"};
const bench::RebuiltHandler kUserLog{"user_log", "user_event_log"};

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string met(bool ok) { return ok ? "met" : "NOT MET"; }

// Every handler connected, at the head and serving: GET /readyz answers 200.
void wait_until_ready(const bench::Projectord& projectord, bench::Child& daemon, unsigned short port) {
  const auto ready = [&] {
    try {
      return projectord::testing::http_request("127.0.0.1", port, "GET", "/readyz").status == 200;
    } catch (const std::exception&) {
      return false;  // not listening yet
    }
  };
  if (!projectord.wait_until(daemon, ready, kTimeout, "starting")) {
    throw std::runtime_error("projectord was not ready after 10 min:\n" + bench::tail_of(projectord.log_path()));
  }
}

void wait_for(const bench::Projectord& projectord, bench::Child& daemon, bench::RebuildWatch& watch, Stage stage) {
  const std::string doing = stage == Stage::at_head ? "replaying a rebuild" : "swapping a rebuild";
  if (!projectord.wait_until(
          daemon, [&] { return watch.poll(stage); }, kTimeout, doing)) {
    throw std::runtime_error("projectord was still " + doing + " after 10 min:\n" +
                             bench::tail_of(projectord.log_path()));
  }
}

// The live phase during a rebuild of `users`: the writer writes from the request until the replay has reached
// the head (or for `seconds`), on a thread of its own while this one follows the rebuild to its swap.
bench::LivePhase measure_during_rebuild(const std::string& url, projectord::examples::UserEventGenerator& generator,
                                        std::int64_t rate, std::int64_t seconds, bench::RebuildWatch& watch,
                                        const bench::Projectord& projectord, bench::Child& daemon) {
  std::stop_source stop_writing;
  bench::LivePhase phase;
  std::exception_ptr writer_failed;
  watch.request();
  std::jthread writer([&] {
    try {
      phase = bench::measure_visibility(url, generator, rate, seconds, stop_writing.get_token());
    } catch (...) {
      writer_failed = std::current_exception();
    }
  });
  try {
    wait_for(projectord, daemon, watch, Stage::at_head);
    stop_writing.request_stop();
    wait_for(projectord, daemon, watch, Stage::swapped);
  } catch (...) {
    stop_writing.request_stop();
    writer.join();
    throw;
  }
  writer.join();
  if (writer_failed) std::rethrow_exception(writer_failed);
  return phase;
}

std::string describe(const bench::RebuildWatch& watch) {
  std::string text;
  for (const bench::RebuildProgress& p : watch.progress()) {
    text += (text.empty() ? "" : "; ") + p.rebuilt.handler + " at the head after " +
            (p.at_head ? bench::fixed(seconds_between(watch.requested(), *p.at_head), 2) + " s" : "(not seen)") +
            ", swapped after " + bench::fixed(seconds_between(watch.requested(), *p.swapped), 2) + " s";
  }
  return text;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++count;
  return count;
}

// Each round rebuilt both handlers, and each live round users once more.
void check_swaps_logged(bench::Checks& checks, const bench::Projectord& projectord, std::size_t rounds) {
  std::ifstream in(projectord.log_path());
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t users = occurrences(log, "handler=users event=rebuild_ended swapped=true");
  const std::size_t user_log = occurrences(log, "handler=user_log event=rebuild_ended swapped=true");
  const std::size_t failed = occurrences(log, "swapped=false");
  checks.expect(users == 2 * rounds && user_log == rounds && failed == 0, "the log says each rebuild swapped",
                "event=rebuild_ended swapped=true: users " + std::to_string(users) + " of " +
                    std::to_string(2 * rounds) + ", user_log " + std::to_string(user_log) + " of " +
                    std::to_string(rounds) + "; swapped=false: " + std::to_string(failed));
}

// Back to the state before a catch-up: no read models and no checkpoints (the catch-up creates both again).
void drop_read_models(pqxx::connection& connection) {
  pqxx::work txn(connection);
  txn.exec("DROP TABLE user_projection, user_event_log");
  txn.exec("DELETE FROM projectord.checkpoints");
  txn.commit();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// "lowest Lx, highest Hx" of the rounds' ratios.
std::string spread(const std::vector<double>& ratios) {
  const auto [lowest, highest] = std::minmax_element(ratios.begin(), ratios.end());
  return "lowest " + bench::fixed(*lowest, 2) + "x, highest " + bench::fixed(*highest, 2) + "x";
}

void check_nothing_left(bench::Checks& checks, pqxx::connection& connection, unsigned short port) {
  const std::size_t in_status = bench::handlers_rebuilding(port).size();
  const std::int64_t recorded = bench::query_int(connection, "SELECT count(*) FROM projectord.rebuilds");
  const std::int64_t shadow_checkpoints =
      bench::query_int(connection, "SELECT count(*) FROM projectord.checkpoints WHERE handler LIKE '%:rebuild'");
  const std::int64_t schemas =
      bench::query_int(connection,
                       "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projectord\\_r\\_%'"
                       " OR nspname LIKE 'projectord\\_o\\_%'");
  checks.expect(in_status == 0 && recorded == 0 && shadow_checkpoints == 0 && schemas == 0,
                "no rebuild left: none in /status or projectord.rebuilds, no shadow checkpoint or schema",
                std::to_string(in_status) + " in /status, " + std::to_string(recorded) + " recorded, " +
                    std::to_string(shadow_checkpoints) + " checkpoints, " + std::to_string(schemas) + " schemas");
}

int run(bench::Flags& flags) {
  const std::string server_url = flags.required_text("--url");
  const std::string binary = flags.required_text("--projectord");
  const std::int64_t events = flags.positive("--events", 200'000);
  const auto rounds = static_cast<std::size_t>(flags.positive("--rounds", 3));
  const std::int64_t rate = flags.positive("--rate", 200);
  const std::int64_t seconds = flags.positive("--seconds", 10);
  flags.finish();

  bench::WorkDir work_dir("bench-rebuild");
  const std::string url = bench::fresh_database(server_url, "bench_rebuild");
  pqxx::connection connection(url);
  bench::print_header("projectord benchmark: rebuild", connection);
  std::cout << "events: " << events
            << "; handlers users (user_projection) and user_log (user_event_log); writer: " << rate
            << " events/s, one per transaction, live phases of at most " << seconds << " s" << std::endl;

  // Setup, not timed. The log at info level holds the rebuilds' events (checked below).
  bench::create_stored_events(url, work_dir.path() + "/demo-writer.log");
  projectord::examples::UserEventGenerator generator(bench::kSeed);
  const auto load_start = Clock::now();
  bench::load_events(connection, generator, events);
  std::cout << "loaded in " << bench::fixed(seconds_between(load_start, Clock::now()), 1) << " s (not timed)"
            << std::endl;
  const unsigned short port = projectord::testing::free_loopback_port();
  bench::ProjectordOptions options;
  options.http_listen = "127.0.0.1:" + std::to_string(port);
  options.log_level = "info";
  const bench::Projectord projectord(binary, url, work_dir.path(), options);
  projectord.migrate();

  // Each timed phase starts settled (bench::settle): autovacuum has no work left from the phase before (the
  // tables it built, the copies made to check it) to do at the same time.
  std::vector<double> replay_ratios;
  std::unique_ptr<bench::Child> daemon;
  bench::Checks checks;
  for (std::size_t round = 1; round <= rounds; ++round) {
    if (daemon) {
      bench::Projectord::stop(*daemon, checks);
      daemon.reset();
      drop_read_models(connection);
    }
    // (1) The baseline: a catch-up from checkpoint 0, as bench-catchup measures it (the whole process).
    bench::settle(connection);
    const bench::ExitInfo catch_up = projectord.catch_up();
    const double catch_up_rate = static_cast<double>(events) / catch_up.seconds;
    std::cout << "round " << round << ": catch-up, checkpoint 0 to the head (run --exit-when-caught-up, whole"
              << " process): " << bench::fixed(catch_up_rate, 0) << " events/s (" << bench::fixed(catch_up.seconds, 2)
              << " s)" << std::endl;
    if (round == 1) {
      bench::copy_table(connection, "user_projection_before", "user_projection");
      bench::copy_table(connection, "user_event_log_before", "user_event_log");
    }

    // (2) Both handlers rebuilt at once by the running daemon, with no writes: two lanes replay both read
    // models from position 0 side by side, as the catch-up's two lanes built them.
    daemon = std::make_unique<bench::Child>(projectord.command({"run"}), projectord.env(), projectord.log_path());
    wait_until_ready(projectord, *daemon, port);
    bench::settle(connection);
    bench::RebuildWatch both(port, connection, {kUsers, kUserLog});
    both.request();
    wait_for(projectord, *daemon, both, Stage::swapped);
    const double replay_rate = static_cast<double>(events) / both.seconds_to_swap();
    replay_ratios.push_back(replay_rate / catch_up_rate);
    std::cout << "round " << round << ": rebuild of both handlers at once, daemon caught up, no writes (request to"
              << " the last swap): " << bench::fixed(replay_rate, 0) << " events/s ("
              << bench::fixed(both.seconds_to_swap(), 2) << " s; " << describe(both) << "); ratio rebuild / catch-up "
              << bench::ratio(replay_rate, catch_up_rate) << std::endl;
    if (round == 1) {
      bench::copy_table(connection, "user_projection_rebuilt", "user_projection");
      bench::copy_table(connection, "user_event_log_rebuilt", "user_event_log");
    }
  }
  const double replay_ratio = median(replay_ratios);
  std::cout << "ratio rebuild / catch-up, median of " << rounds << " rounds: " << bench::fixed(replay_ratio, 2) << "x ("
            << spread(replay_ratios) << "; target >= " << bench::fixed(kTargetReplayRatio, 2)
            << "x: " << met(replay_ratio >= kTargetReplayRatio) << ")" << std::endl;

  // (3) Live latency of the user_log lane, without a rebuild and while users is rebuilt, in K rounds. The
  // trigger goes on the swapped-in user_event_log; rebuilding users leaves that table and its lane alone.
  wait_until_ready(projectord, *daemon, port);
  bench::install_visibility_trigger(connection, "user_event_log", "global_position");
  std::cout << "live phases: writer -> user_log lane -> NOTIFY on user_event_log -> listener, without a rebuild and"
               " while users is rebuilt (not user_log: its swap would stop the measured lane and replace the table"
               " that notifies)"
            << std::endl;
  std::vector<double> p50_ratios;
  std::vector<double> p99_ratios;
  bool all_visible = true;
  bool writer_behind = false;
  for (std::size_t round = 1; round <= rounds; ++round) {
    const std::string name = "round " + std::to_string(round) + ": live, ";
    bench::settle(connection);
    const bench::LivePhase without = bench::measure_visibility(url, generator, rate, seconds);
    bench::print_phase(name + "no rebuild", without);
    bench::settle(connection);
    bench::RebuildWatch users(port, connection, {kUsers});
    const bench::LivePhase during = measure_during_rebuild(url, generator, rate, seconds, users, projectord, *daemon);
    bench::print_phase(name + "while users is rebuilt (" + bench::fixed(during.seconds, 1) + " s of its replay)",
                       during);
    const bench::RebuildProgress& rebuilt = users.progress().front();
    const double replayed_seconds = seconds_between(users.requested(), rebuilt.at_head.value_or(*rebuilt.swapped));
    std::cout << "round " << round << ": rebuild of users under that load: " << rebuilt.events_applied
              << " events replayed to the head in " << bench::fixed(replayed_seconds, 2) << " s ("
              << bench::fixed(static_cast<double>(rebuilt.events_applied) / replayed_seconds, 0)
              << " events/s); the users lane (not measured) stopped for the swap "
              << (rebuilt.at_head
                      ? "for ~" + bench::fixed(seconds_between(*rebuilt.at_head, *rebuilt.swapped) * 1000, 0) +
                            " ms (/status phase swapping until the rebuild had gone, 20 ms polls)"
                      : "for less than a 20 ms poll (phase swapping not seen)")
              << "; ratio during / without: p50 " << bench::ratio(during.latency.p50, without.latency.p50) << ", p99 "
              << bench::ratio(during.latency.p99, without.latency.p99) << std::endl;
    p50_ratios.push_back(during.latency.p50 / without.latency.p50);
    p99_ratios.push_back(during.latency.p99 / without.latency.p99);
    all_visible = all_visible && without.all_visible && during.all_visible;
    // A writer behind its schedule means a saturated machine: the phases then compare queues, not latencies.
    for (const bench::LivePhase* phase : {&without, &during}) {
      writer_behind = writer_behind || phase->achieved_rate < 0.9 * static_cast<double>(rate);
    }
  }
  if (writer_behind) {
    std::cout << "note: the writer fell behind " << rate
              << " events/s in a phase: the machine was saturated, so the phases compare different loads; a lower"
                 " --rate compares latencies"
              << std::endl;
  }
  const double latency_ratio = median(p99_ratios);
  std::cout << "ratio live latency during / without a rebuild, median of " << rounds << " rounds: p50 "
            << bench::fixed(median(p50_ratios), 2) << "x, p99 " << bench::fixed(latency_ratio, 2) << "x (p99 "
            << spread(p99_ratios) << "; target p99 <= " << bench::fixed(kTargetLatencyRatio, 1)
            << "x: " << met(latency_ratio <= kTargetLatencyRatio) << ")\n"
            << "summary: rebuild replay " << bench::fixed(replay_ratio, 2) << "x of the catch-up ("
            << met(replay_ratio >= kTargetReplayRatio) << "), live p99 " << bench::fixed(latency_ratio, 2)
            << "x during a rebuild (" << met(latency_ratio <= kTargetLatencyRatio) << "); medians of " << rounds
            << " rounds" << std::endl;

  // Checks, not timed.
  checks.expect(all_visible, "every live event became visible in user_event_log",
                "within 30 s after the writer stopped");
  if (!projectord.wait_until_caught_up(*daemon, connection, kTimeout)) {
    throw std::runtime_error("projectord did not reach the head after the rebuilds in 10 min");
  }
  check_nothing_left(checks, connection, port);
  bench::Projectord::stop(*daemon, checks);
  check_swaps_logged(checks, projectord, rounds);
  checks.expect(bench::query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                "projectord dead-lettered nothing");
  bench::check_same(checks, connection, "users: first rebuild = the model it replaced", "user_projection_rebuilt",
                    "user_projection_before", bench::kUserColumns);
  bench::check_same(checks, connection, "event log: first rebuild = the model it replaced", "user_event_log_rebuilt",
                    "user_event_log_before", bench::kLogColumns);
  bench::create_like(connection, "user_projection_sb", "user_projection");
  bench::create_like(connection, "user_event_log_sb", "user_event_log");
  bench::run_set_based(connection, "user_projection_sb", "user_event_log_sb",
                       bench::query_int(connection, "SELECT max(id) FROM stored_events"));
  bench::check_same(checks, connection, "users, rebuilt under writes: = set-based over every event", "user_projection",
                    "user_projection_sb", bench::kUserColumns);
  bench::check_same(checks, connection, "event log: = set-based over every event", "user_event_log",
                    "user_event_log_sb", bench::kLogColumns);
  if (checks.failures() != 0) std::cout << "projectord log:\n" << bench::tail_of(projectord.log_path());
  return checks.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return bench::run_main(argc, argv, "bench-rebuild", kUsage, run); }
