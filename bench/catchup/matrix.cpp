#include "bench/catchup/matrix.hpp"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <pqxx/connection>
#include <pqxx/transaction>

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

// One combination's store, built once and caught up on once per round.
struct Store {
  StoreCombination combination;
  std::string database;
  std::string url;
  Projectord projectord;
  std::vector<ExitInfo> rounds;

  // Events per second of the median round.
  double rate(std::int64_t events) const {
    std::vector<double> seconds;
    for (const ExitInfo& round : rounds) seconds.push_back(round.seconds);
    std::ranges::sort(seconds);
    return static_cast<double>(events) / seconds[seconds.size() / 2];
  }
  double peak_rss_mb() const { return std::ranges::max(rounds, {}, &ExitInfo::peak_rss_mb).peak_rss_mb; }
};

const Store& store_of(const std::vector<Store>& stores, const StoreCombination& combination) {
  return *std::ranges::find(stores, combination, &Store::combination);
}

std::string database_of(const StoreCombination& combination) {
  return "bench_catchup_" + combination.preset + "_" + std::string(config::codec_name(combination.codec));
}

// Setup, not timed: the database, the store's tables and events, projectord's schema and the model's table.
Store build_store(const MatrixRun& run, const StoreCombination& combination, const WorkDir& work_dir) {
  const std::string database = database_of(combination);
  const std::string url = fresh_database(run.server_url, database);
  const std::string dir = work_dir.path() + "/" + database;
  ProjectordOptions options;
  options.source_toml = store_source_toml(combination);
  options.handlers.resize(1);  // the users handler comes first
  options.env = store_environment(combination);
  Store store{combination, database, url, Projectord(run.projectord, url, dir, options), {}};
  create_store(url, combination, run.events, dir + "/store.log");
  store.projectord.migrate();
  if (store_needs_position(combination)) store.projectord.migrate({"--add-position", "shop"});
  return store;
}

// One timed catch-up from position 0 into an empty model without its readers' indexes, as every round has it.
void catch_up(const MatrixRun& run, Store& store) {
  pqxx::connection connection(store.url);
  if (!store.rounds.empty()) {
    {
      pqxx::work txn(connection);
      txn.exec("DROP TABLE user_projection");
      txn.exec("DELETE FROM projectord.checkpoints");
      txn.commit();
    }
    store.projectord.migrate();
  }
  settle(connection);
  const ExitInfo exit = store.projectord.catch_up();
  store.rounds.push_back(exit);
  std::cout << "round " << store.rounds.size() << ", " << store.combination.name() << ": "
            << fixed(static_cast<double>(run.events) / exit.seconds, 0) << " events/s (" << fixed(exit.seconds, 2)
            << " s), peak RSS " << fixed(exit.peak_rss_mb, 1) << " MB" << std::endl;
}

// Checks the last round's model against the reference and drops the database.
void check_and_drop(const MatrixRun& run, const Store& store, pqxx::connection& reference, Checks& checks) {
  {
    pqxx::connection connection(store.url);
    const RowsDigest built = rows_digest(connection, compared_select(store.combination, "user_projection"));
    const RowsDigest expected =
        rows_digest(reference, "SELECT " + compared_columns(store.combination) + " FROM user_projection_sb");
    checks.expect(built == expected && built.rows > 0, "users: " + store.combination.name() + " = set-based",
                  std::to_string(built.rows) + " rows, " + std::to_string(expected.rows) + " expected, digests " +
                      (built.md5 == expected.md5 ? "equal" : "differ"));
    checks.expect(query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                  store.combination.name() + ": projectord dead-lettered nothing");
  }
  drop_database(run.server_url, store.database);
}

void print_table(const MatrixRun& run, const std::vector<Store>& stores) {
  const double common = store_of(stores, kCommonBaseline).rate(run.events);
  std::cout << "\n"
            << std::left << std::setw(22) << "store" << std::setw(30) << "codec" << std::right << std::setw(10)
            << "events/s" << std::setw(11) << "peak RSS" << std::setw(20) << "/ preset's plain" << std::setw(24)
            << "/ django_event_store" << "\n";
  for (const Store& store : stores) {
    const double rate = store.rate(run.events);
    std::cout << std::left << std::setw(22) << store.combination.preset << std::setw(30)
              << config::codec_name(store.combination.codec) << std::right << std::setw(10) << fixed(rate, 0)
              << std::setw(8) << fixed(store.peak_rss_mb(), 1) << " MB" << std::setw(20)
              << ratio(rate, store_of(stores, plain_json_of(store.combination)).rate(run.events)) << std::setw(24)
              << ratio(rate, common) << "\n";
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
            << " stores, one database each, " << run.rounds << " rounds (each store once per round), medians\n"
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
            << " events/s (" << fixed(set_based_seconds, 2) << " s)" << std::endl;

  std::vector<Store> stores;
  for (const StoreCombination& combination : run.combinations) stores.push_back(build_store(run, combination, work_dir));
  // Round by round, so that a slow spell of the machine falls on a different store each round.
  for (std::int64_t round = 0; round < run.rounds; ++round) {
    for (Store& store : stores) catch_up(run, store);
  }
  Checks checks;
  for (const Store& store : stores) check_and_drop(run, store, connection, checks);
  print_table(run, stores);

  const double common = store_of(stores, kCommonBaseline).rate(run.events);
  for (const Store& store : stores) {
    const double rate = store.rate(run.events);
    const double own = store_of(stores, plain_json_of(store.combination)).rate(run.events);
    const std::string ratios = ratio(rate, own) + " of " + plain_json_of(store.combination).name() + ", " +
                               ratio(rate, common) + " of " + kCommonBaseline.name();
    if (store.combination.encrypted()) {
      std::cout << store.combination.name() << " (cipher, held to no bound): " << ratios << "\n";
      continue;
    }
    checks.expect(rate >= kMinPlainRatio * own && rate >= kMinPlainRatio * common,
                  store.combination.name() + " >= " + fixed(kMinPlainRatio, 1) + "x of plain JSON", ratios);
  }
  return checks.failures();
}

}  // namespace projectord::bench
