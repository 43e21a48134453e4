#include "bench/catchup/matrix.hpp"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <pqxx/connection>

#include "bench/support/flags.hpp"
#include "bench/support/process.hpp"
#include "bench/support/read_models.hpp"
#include "bench/support/report.hpp"
#include "bench/support/store.hpp"
#include "bench/support/work_dir.hpp"

namespace projectord::bench {

namespace {

using Clock = std::chrono::steady_clock;

const StoreCombination kCommonBaseline{"django_event_store", config::Codec::json};

struct Measured {
  StoreCombination combination;
  ExitInfo exit;
  double rate = 0;
};

const Measured& measured(const std::vector<Measured>& all, const StoreCombination& combination) {
  return *std::ranges::find(all, combination, &Measured::combination);
}

std::string database_of(const StoreCombination& combination) {
  return "bench_catchup_" + combination.preset + "_" + std::string(config::codec_name(combination.codec));
}

// Builds the store, catches up on it, checks the model against the reference and drops the database.
Measured measure(const MatrixRun& run, const StoreCombination& combination, const WorkDir& work_dir,
                 pqxx::connection& reference, Checks& checks) {
  const std::string database = database_of(combination);
  const std::string url = fresh_database(run.server_url, database);
  const std::string dir = work_dir.path() + "/" + database;
  ProjectordOptions options;
  options.source_toml = store_source_toml(combination);
  options.handlers.resize(1);  // the users handler comes first
  options.env = store_environment(combination);
  const Projectord projectord(run.projectord, url, dir, options);
  create_store(url, combination, run.events, dir + "/store.log");
  projectord.migrate();
  if (store_needs_position(combination)) projectord.migrate({"--add-position", "shop"});
  Measured result{combination, {}, 0};
  {
    pqxx::connection connection(url);
    settle(connection);
    result.exit = projectord.catch_up();
    result.rate = static_cast<double>(run.events) / result.exit.seconds;
    std::cout << combination.name() << ": " << fixed(result.rate, 0) << " events/s (" << fixed(result.exit.seconds, 2)
              << " s), peak RSS " << fixed(result.exit.peak_rss_mb, 1) << " MB" << std::endl;
    const RowsDigest built = rows_digest(connection, compared_select(combination, "user_projection"));
    const RowsDigest expected =
        rows_digest(reference, "SELECT " + compared_columns(combination) + " FROM user_projection_sb");
    checks.expect(built == expected && built.rows > 0, "users: " + combination.name() + " = set-based",
                  std::to_string(built.rows) + " rows, " + std::to_string(expected.rows) + " expected, digests " +
                      (built.md5 == expected.md5 ? "equal" : "differ"));
    checks.expect(query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                  combination.name() + ": projectord dead-lettered nothing");
  }
  drop_database(run.server_url, database);
  return result;
}

void print_table(const std::vector<Measured>& all) {
  const double common = measured(all, kCommonBaseline).rate;
  std::cout << "\n"
            << std::left << std::setw(22) << "store" << std::setw(30) << "codec" << std::right << std::setw(10)
            << "events/s" << std::setw(11) << "peak RSS" << std::setw(20) << "/ preset's plain" << std::setw(24)
            << "/ django_event_store" << "\n";
  for (const Measured& m : all) {
    std::cout << std::left << std::setw(22) << m.combination.preset << std::setw(30)
              << config::codec_name(m.combination.codec) << std::right << std::setw(10) << fixed(m.rate, 0)
              << std::setw(8) << fixed(m.exit.peak_rss_mb, 1) << " MB" << std::setw(20)
              << ratio(m.rate, measured(all, plain_json_of(m.combination)).rate) << std::setw(24)
              << ratio(m.rate, common) << "\n";
  }
  std::cout << std::endl;
}

}  // namespace

std::vector<StoreCombination> select_combinations(const std::string& preset, const std::string& codec) {
  const std::vector<StoreCombination> all = store_combinations();
  std::vector<StoreCombination> chosen;
  for (const StoreCombination& c : all) {
    if ((preset == "all" || c.preset == preset) && (codec == "all" || config::codec_name(c.codec) == codec)) {
      chosen.push_back(c);
    }
  }
  if (chosen.empty()) throw UsageError("store " + preset + " is not written with codec " + codec);
  std::vector<StoreCombination> with_baselines;
  for (const StoreCombination& c : all) {
    const bool baseline = c == kCommonBaseline || std::ranges::any_of(chosen, [&](const StoreCombination& x) {
                            return plain_json_of(x) == c;
                          });
    if (baseline || std::ranges::find(chosen, c) != chosen.end()) with_baselines.push_back(c);
  }
  return with_baselines;
}

int run_matrix(const MatrixRun& run) {
  WorkDir work_dir("bench-catchup");
  const std::string url = fresh_database(run.server_url, "bench_catchup");
  pqxx::connection connection(url);
  print_header("projectord benchmark: catch-up over every store preset and codec", connection);
  std::cout << "events: " << run.events << " per store, read model: user_projection alone, " << run.combinations.size()
            << " stores, one database each\n"
            << "baselines of the same run: each preset with its plain JSON codec (eventsourcing_json or json), and"
               " django_event_store/json\n"
            << "bound: every combination without a cipher at >= " << fixed(kMinPlainRatio, 1)
            << "x of both; the cipher reports its own ratio" << std::endl;

  // The reference: the set-based pass over the same events in eventsourcing_django's stored_events (plain JSON).
  create_stored_events(url, work_dir.path() + "/demo-writer.log");
  examples::UserEventGenerator generator(kSeed);
  load_events(connection, generator, run.events);
  ProjectordOptions reference_options;
  reference_options.handlers.resize(1);
  Projectord(run.projectord, url, work_dir.path() + "/reference", reference_options).migrate();
  create_like(connection, "user_projection_sb", "user_projection");
  checkpoint(connection);
  const auto set_based_start = Clock::now();
  run_set_based(connection, "user_projection_sb", "", query_int(connection, "SELECT max(id) FROM stored_events"));
  const double set_based_seconds = std::chrono::duration<double>(Clock::now() - set_based_start).count();
  std::cout << "set-based SQL bound (the reference): " << fixed(static_cast<double>(run.events) / set_based_seconds, 0)
            << " events/s (" << fixed(set_based_seconds, 2) << " s)\n"
            << std::endl;

  Checks checks;
  std::vector<Measured> all;
  for (const StoreCombination& combination : run.combinations) {
    all.push_back(measure(run, combination, work_dir, connection, checks));
  }
  print_table(all);

  const double common = measured(all, kCommonBaseline).rate;
  for (const Measured& m : all) {
    const double own = measured(all, plain_json_of(m.combination)).rate;
    const std::string ratios = ratio(m.rate, own) + " of " + plain_json_of(m.combination).name() + ", " +
                               ratio(m.rate, common) + " of " + kCommonBaseline.name();
    if (m.combination.encrypted()) {
      std::cout << m.combination.name() << " (cipher, held to no bound): " << ratios << "\n";
      continue;
    }
    checks.expect(m.rate >= kMinPlainRatio * own && m.rate >= kMinPlainRatio * common,
                  m.combination.name() + " >= " + fixed(kMinPlainRatio, 1) + "x of plain JSON", ratios);
  }
  return checks.failures();
}

}  // namespace projectord::bench
