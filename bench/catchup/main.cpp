// bench-catchup: how fast projectord builds the users read model and its event log from a full store, next
// to two reference points measured in the same run on the same data: the set-based SQL bound (the whole
// projection as two INSERT ... SELECT statements) and a naive per-event projector (one transaction per
// event, as a Celery task per event does). Prints rates, projectord's peak RSS and the ratios, then checks
// that all three produced the same read models. With --read-models sql it also measures the user model
// declared as a kind `sql` handler; with --store or --codec it runs the matrix of store presets and codecs
// instead (matrix.hpp).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>

#include "bench/catchup/io_floor.hpp"
#include "bench/catchup/matrix.hpp"
#include "bench/catchup/naive_projector.hpp"
#include "bench/catchup/sql_users.hpp"
#include "bench/support/flags.hpp"
#include "bench/support/process.hpp"
#include "bench/support/read_models.hpp"
#include "bench/support/report.hpp"
#include "bench/support/store.hpp"
#include "bench/support/work_dir.hpp"
#include "config/byte_size.hpp"

namespace {

namespace bench = projectord::bench;

constexpr std::string_view kUsage =
    R"(usage: bench-catchup --url CONNINFO --projectord PATH [--events N] [--naive-events K]
                     [--read-models users|users+log|sql] [--fold-memory SIZE]
       bench-catchup --url CONNINFO --projectord PATH [--events N] [--rounds R] --store PRESET|all
                     --codec CODEC|all

Creates a fresh database `bench_catchup` on the server CONNINFO points at, loads N user events into an
eventsourcing_django stored_events table (plain JSON state), and measures in the same run, building the
same read models each time:
  projectord run --exit-when-caught-up   (whole process: wall clock and peak RSS)
  the set-based SQL bound                (one INSERT ... SELECT per table, in one transaction)
  a naive per-event projector            (one transaction per event, first K events)
  the I/O floor                          (the source's rows out by binary COPY, then the final models
                                          in by binary COPY with their indexes: io_floor.hpp)
then checks that the read models are identical. Exits 1 when a check fails. Prints projectord's ratios to
the set-based pass (targets: >= 2x for users, >= 1.5x for users+log) and to the I/O floor (>= 0.6x), and
its peak RSS against fold_memory + 40 MiB, each with whether it meets its target.

With --store or --codec (the other one defaults to all), the matrix instead: the same N events (default
200000) in each store preset's own table with each codec its library writes, each in a database of its own;
R rounds of one projectord catch-up of the user model per combination, the median round's rate printed
with its ratio to the same preset's plain JSON codec (eventsourcing_json or json) and to
django_event_store/json of the same run, and its model checked against the set-based pass. A combination without a cipher below 0.7x of either is a FAIL;
the aes codecs report their ratio. PRESET: eventsourcing, eventsourcing_django, django_event_store,
djangoevents, eventuali, django_event_tables, generic; CODEC: json, json_zlib, eventsourcing_json,
eventsourcing_json_zlib, eventsourcing_json_aes, eventsourcing_json_zlib_aes.

options:
  --url CONNINFO       libpq conninfo or URI of a server where we may create databases (required)
  --projectord PATH    the projectord binary (required)
  --events N           events in the store (default 1000000)
  --naive-events K     events the naive projector processes (default 20000)
  --read-models WHICH  users: the user read model (user_projection) alone (default);
                       users+log: the demo's two, user_projection and the user_event_log audit table;
                       sql: user_projection, then the same model declared as a kind `sql` handler
                       ([[statements]] per event type, into user_projection_sql with its readers'
                       indexes in place, as Django's migration leaves it), a catch-up of its own
  --store PRESET       the matrix, over this store preset or all
  --codec CODEC        the matrix, over this codec or all
  --rounds R           the matrix's catch-ups per store (default 3)
  --fold-memory SIZE   the users handler's fold_memory (default 256MiB, the daemon's)
)";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int run_matrix(bench::Flags& flags) {
  bench::MatrixRun run;
  run.server_url = flags.required_text("--url");
  run.projectord = flags.required_text("--projectord");
  run.events = flags.positive("--events", 200'000);
  run.rounds = flags.positive("--rounds", 3);
  std::vector<std::string> presets{"all"};
  std::vector<std::string> codecs{"all"};
  for (const bench::StoreCombination& c : bench::store_combinations()) {
    if (std::ranges::find(presets, c.preset) == presets.end()) presets.push_back(c.preset);
    const std::string codec(projectord::config::codec_name(c.codec));
    if (std::ranges::find(codecs, codec) == codecs.end()) codecs.push_back(codec);
  }
  const std::string preset = flags.choice("--store", presets);
  const std::string codec = flags.choice("--codec", codecs);
  for (const char* single_store_only : {"--naive-events", "--read-models"}) {
    if (flags.has(single_store_only)) {
      throw bench::UsageError(std::string(single_store_only) + " is not an option of the matrix (--store, --codec)");
    }
  }
  flags.finish();
  run.combinations = bench::select_combinations(preset, codec);
  return bench::run_matrix(run) == 0 ? 0 : 1;
}

int run(bench::Flags& flags) {
  if (flags.has("--store") || flags.has("--codec")) return run_matrix(flags);
  if (flags.has("--rounds")) throw bench::UsageError("--rounds is an option of the matrix (--store, --codec)");
  const std::string server_url = flags.required_text("--url");
  const std::string binary = flags.required_text("--projectord");
  const std::int64_t events = flags.positive("--events", 1'000'000);
  const std::int64_t naive_events = std::min(events, flags.positive("--naive-events", 20'000));
  const std::string read_models = flags.choice("--read-models", {"users", "users+log", "sql"});
  const bool with_log = read_models == "users+log";
  const bool with_sql = read_models == "sql";
  const std::string fold_memory = flags.has("--fold-memory") ? flags.required_text("--fold-memory") : "256MiB";
  const auto fold_memory_bytes = projectord::config::parse_byte_size(fold_memory);
  if (!fold_memory_bytes) throw bench::UsageError("--fold-memory: " + fold_memory_bytes.error());
  flags.finish();

  bench::WorkDir work_dir("bench-catchup");
  const std::string url = bench::fresh_database(server_url, "bench_catchup");
  pqxx::connection connection(url);
  bench::print_header("projectord benchmark: catch-up", connection);
  std::cout << "events: " << events << " (naive projector: first " << naive_events << ")\n"
            << "read models: user_projection"
            << (with_log ? " and user_event_log" : with_sql ? ", then as a kind sql handler" : " alone") << std::endl;

  // Setup, not timed: the store, projectord's schema and tables, the reference tables.
  bench::create_stored_events(url, work_dir.path() + "/demo-writer.log");
  projectord::examples::UserEventGenerator generator(bench::kSeed);
  const auto load_start = Clock::now();
  bench::load_events(connection, generator, events);
  std::cout << "loaded in " << bench::fixed(seconds_since(load_start), 1) << " s (not timed)" << std::endl;
  const std::int64_t last_id = bench::query_int(connection, "SELECT max(id) FROM stored_events");
  const std::int64_t naive_last_id = bench::query_int(
      connection, "SELECT id FROM stored_events ORDER BY id OFFSET " + std::to_string(naive_events - 1) + " LIMIT 1");

  bench::ProjectordOptions options;
  if (!with_log) options.handlers.resize(1);  // the users handler comes first
  options.handlers.front().toml += "fold_memory = \"" + fold_memory + "\"\n";
  bench::Projectord projectord(binary, url, work_dir.path(), options);
  // An empty name: that read model is not built.
  const auto log_table = [&](const std::string& name) { return with_log ? name : std::string(); };
  projectord.migrate();
  for (const std::string suffix : {"_sb", "_naive", "_sbk"}) {
    bench::create_like(connection, "user_projection" + suffix, "user_projection");
    if (with_log) bench::create_like(connection, "user_event_log" + suffix, "user_event_log");
  }
  if (with_sql) bench::create_like(connection, "user_projection_sql", "user_projection");
  {
    // A Celery task per event writes the model as its readers have it: every index in place. So does the sql
    // handler, whose table Django's migration created with the model's indexes.
    pqxx::work txn(connection);
    bench::add_reader_indexes(txn, "user_projection_naive", log_table("user_event_log_naive"));
    if (with_sql) bench::add_reader_indexes(txn, "user_projection_sql", "");
    txn.commit();
  }
  std::optional<bench::Projectord> sql_projectord;
  if (with_sql) {
    bench::ProjectordOptions sql_options;
    sql_options.handlers = {bench::sql_users_handler("users_sql", "user_projection_sql")};
    sql_projectord.emplace(binary, url, work_dir.path() + "/sql", sql_options);
    sql_projectord->migrate();
  }

  // (a) projectord, the whole process.
  bench::checkpoint(connection);
  const bench::ExitInfo daemon = projectord.catch_up();

  // (a') the same model from the sql handler, a catch-up of its own.
  bench::ExitInfo sql_daemon;
  if (sql_projectord) {
    bench::checkpoint(connection);
    sql_daemon = sql_projectord->catch_up();
  }

  // (b) the set-based bound.
  bench::checkpoint(connection);
  const auto set_based_start = Clock::now();
  bench::run_set_based(connection, "user_projection_sb", log_table("user_event_log_sb"), last_id);
  const double set_based_seconds = seconds_since(set_based_start);

  // (c) the naive per-event projector.
  bench::checkpoint(connection);
  const auto naive_start = Clock::now();
  const std::int64_t naive_done = bench::run_naive_projector(
      connection, {"user_projection_naive", log_table("user_event_log_naive"), "bench_naive_checkpoint"}, naive_events);
  const double naive_seconds = seconds_since(naive_start);

  // (d) the I/O floor, once the set-based models hold the final rows.
  std::vector<bench::FloorModel> floor_models{{"user_projection_sb", "user_projection_floor"}};
  if (with_log) floor_models.push_back({"user_event_log_sb", "user_event_log_floor"});
  bench::checkpoint(connection);
  const bench::IoFloor floor = bench::measure_io_floor(
      url, "SELECT * FROM stored_events WHERE id <= " + std::to_string(last_id) + " ORDER BY id", floor_models);

  const double daemon_rate = static_cast<double>(events) / daemon.seconds;
  const double set_based_rate = static_cast<double>(events) / set_based_seconds;
  const double naive_rate = static_cast<double>(naive_done) / naive_seconds;
  std::cout << "projectord catch-up: " << bench::fixed(daemon_rate, 0) << " events/s ("
            << bench::fixed(daemon.seconds, 2) << " s), peak RSS " << bench::fixed(daemon.peak_rss_mb, 1) << " MB\n"
            << "set-based SQL bound: " << bench::fixed(set_based_rate, 0) << " events/s ("
            << bench::fixed(set_based_seconds, 2) << " s)\n"
            << "naive per-event transactions: " << bench::fixed(naive_rate, 0) << " events/s (" << naive_done
            << " events, " << bench::fixed(naive_seconds, 2) << " s)\n"
            << "ratio projectord / set-based: " << bench::ratio(daemon_rate, set_based_rate) << "\n"
            << "ratio projectord / naive: " << bench::ratio(daemon_rate, naive_rate) << "\n"
            << "I/O floor: " << bench::fixed(static_cast<double>(events) / floor.seconds(), 0) << " events/s ("
            << bench::fixed(floor.seconds(), 2) << " s: " << floor.rows_out << " source rows out in "
            << bench::fixed(floor.rows_out_seconds, 2) << " s, " << floor.rows_in
            << " final model rows in, with their indexes, in " << bench::fixed(floor.models_in_seconds, 2) << " s)\n"
            << "ratio projectord / I/O floor: " << bench::ratio(floor.seconds(), daemon.seconds) << std::endl;
  const double set_based_target = with_log ? 1.5 : 2.0;
  const double budget_mb = static_cast<double>(*fold_memory_bytes) / (1 << 20);
  const auto target = [](const std::string& what, bool met) {
    std::cout << "target " << what << ": " << (met ? "met" : "NOT MET") << "\n";
  };
  target("projectord / set-based >= " + bench::fixed(set_based_target, 1) + "x",
         daemon_rate >= set_based_target * set_based_rate);
  target("projectord / I/O floor >= 0.6x", daemon.seconds * 0.6 <= floor.seconds());
  target("peak RSS " + bench::fixed(daemon.peak_rss_mb, 1) + " MB <= fold_memory " + fold_memory + " + 40 MB",
         daemon.peak_rss_mb <= budget_mb + 40);
  std::cout << std::flush;
  if (with_sql) {
    const double sql_rate = static_cast<double>(events) / sql_daemon.seconds;
    std::cout << "projectord catch-up, kind sql handler: " << bench::fixed(sql_rate, 0) << " events/s ("
              << bench::fixed(sql_daemon.seconds, 2) << " s), peak RSS " << bench::fixed(sql_daemon.peak_rss_mb, 1)
              << " MB\n"
              << "ratio sql handler / naive: " << bench::ratio(sql_rate, naive_rate) << "\n"
              << "ratio sql handler / compiled users handler: " << bench::ratio(sql_rate, daemon_rate) << "\n"
              << "ratio sql handler / set-based: " << bench::ratio(sql_rate, set_based_rate) << std::endl;
  }

  // Checks, not timed.
  bench::run_set_based(connection, "user_projection_sbk", log_table("user_event_log_sbk"), naive_last_id);
  bench::Checks checks;
  checks.expect(bench::query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                "projectord dead-lettered nothing");
  bench::check_same(checks, connection, "users: projectord = set-based", "user_projection", "user_projection_sb",
                    bench::kUserColumns);
  bench::check_same(checks, connection, "users: naive = set-based (first K)", "user_projection_naive",
                    "user_projection_sbk", bench::kUserColumns);
  if (with_sql) {
    bench::check_same(checks, connection, "users: sql handler = set-based", "user_projection_sql",
                      "user_projection_sb", bench::kUserColumns);
  }
  if (with_log) {
    bench::check_same(checks, connection, "event log: projectord = set-based", "user_event_log", "user_event_log_sb",
                      bench::kLogColumns);
    checks.expect(bench::query_int(connection, "SELECT count(*) FROM user_event_log") == events,
                  "event log: projectord logged every event");
    bench::check_same(checks, connection, "event log: naive = set-based (first K)", "user_event_log_naive",
                      "user_event_log_sbk", bench::kLogColumns);
  }
  if (checks.failures() != 0) {
    std::cout << "projectord log:\n" << bench::tail_of(projectord.log_path());
    if (sql_projectord) std::cout << "projectord log, sql handler:\n" << bench::tail_of(sql_projectord->log_path());
  }
  return checks.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return bench::run_main(argc, argv, "bench-catchup", kUsage, run); }
