#include "daemon/cli/verify.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <iostream>
#include <memory>
#include <pqxx/connection>
#include <pqxx/result>
#include <pqxx/transaction>
#include <set>
#include <stop_token>
#include <variant>
#include <vector>

#include "base/clock.hpp"
#include "base/postgres/conninfo.hpp"
#include "base/postgres/session.hpp"
#include "base/postgres/errors.hpp"
#include "base/printable.hpp"
#include "base/wake_signal.hpp"
#include "checkpoints/rebuilds.hpp"
#include "daemon/cli/table_diff.hpp"
#include "handlers/event_types.hpp"
#include "handlers/registry.hpp"
#include "handlers/setup.hpp"
#include "sources/postgres/table_source.hpp"
#include "sources/redis/range_source.hpp"

namespace projectord::cli {

namespace {

// Differences printed per table; the summary counts them all.
constexpr std::size_t kShownDifferences = 20;
constexpr std::size_t kReplayBatch = 1000;
// A value is printed up to this many bytes.
constexpr std::size_t kShownValueBytes = 200;

std::string verify_schema(const std::string& handler) { return "projectord_v_" + handler; }

// The replay reads as a rebuild does: a Redis stream by range, not through the handler's consumer group.
std::unique_ptr<Source> replay_source(const config::Config& config, const config::Handler& handler, WakeSignal& wake,
                                      const Clock& clock) {
  if (const auto redis = config.redis_sources.find(handler.source); redis != config.redis_sources.end()) {
    return std::make_unique<RedisRangeSource>(redis->second);
  }
  return std::make_unique<PostgresTableSource>(config.postgres_sources.at(handler.source), wake, clock,
                                               config.pooling);
}

// Applies the source's events after 0 up to `to` to `projection` in `txn`, leaving out `skipped` positions;
// returns how many were applied.
std::int64_t replay(pqxx::work& txn, handlers::ProjectionHandler& projection, const config::Handler& handler,
                    Source& source, Position to, const std::set<Position>& skipped) {
  const handlers::TypeFilter types(handler.types);
  std::stop_source never_stopped;
  source.open(handler.name + ":verify", {});
  std::int64_t applied = 0;
  Position at = 0;
  while (at < to) {
    SourceBatch batch = source.read(at, kReplayBatch, never_stopped.get_token());
    std::vector<Event> events;
    for (SourceRow& row : batch.rows) {
      if (row.position > to) break;
      if (skipped.contains(row.position)) continue;
      if (auto* event = std::get_if<Event>(&row.content); event != nullptr && types.accepts(event->type)) {
        events.push_back(std::move(*event));
      }
    }
    if (!events.empty()) projection.apply(txn, events);
    applied += static_cast<std::int64_t>(events.size());
    const Position next = std::min(batch.to, to);
    if (next <= at) {
      if (batch.head < to) {
        throw std::runtime_error("source " + source.name() + " ends at " + std::to_string(batch.head) +
                                 ", before the checkpoint " + std::to_string(to));
      }
      source.wait(batch.blocked, never_stopped.get_token());
    }
    at = std::max(at, next);
  }
  projection.flush(txn);
  return applied;
}

std::string field(const boost::json::object& row, std::string_view column) {
  const auto* value = row.if_contains(column);
  return value == nullptr ? "(none)" : printable(boost::json::serialize(*value), kShownValueBytes);
}

void print_difference(const RowDifference& difference) {
  switch (difference.kind) {
    case RowDifference::Kind::missing:
      std::cout << "  missing " << printable(difference.key, kShownValueBytes)
                << ": the rebuilt row is not in the live table: " << printable(difference.rebuilt, kShownValueBytes)
                << "\n";
      return;
    case RowDifference::Kind::extra:
      std::cout << "  extra   " << printable(difference.key, kShownValueBytes)
                << ": the live row is not in the rebuilt table: " << printable(difference.live, kShownValueBytes)
                << "\n";
      return;
    case RowDifference::Kind::differs: {
      std::cout << "  differs " << printable(difference.key, kShownValueBytes) << ":";
      const boost::json::object live = boost::json::parse(difference.live).as_object();
      const boost::json::object rebuilt = boost::json::parse(difference.rebuilt).as_object();
      for (const auto& column : rebuilt) {
        if (const auto* other = live.if_contains(column.key()); other != nullptr && *other == column.value()) continue;
        std::cout << " " << printable(column.key(), kShownValueBytes) << " live " << field(live, column.key())
                  << " rebuilt " << field(rebuilt, column.key()) << ";";
      }
      std::cout << "\n";
      return;
    }
  }
}

// The verify itself; exit code 0 or 1, throws when it cannot be done.
int verify(const config::Config& config, const config::Handler& handler) {
  auto projection = handlers::make_projection(handler);
  if (!projection) throw std::runtime_error(projection.error());
  const std::string schema = verify_schema(handler.name);
  pqxx::connection target(postgres::with_keepalives(config.database_url));
  postgres::SessionSettings session(config.pooling);
  {
    // Before any transaction: a handler's on_connect may run its own. A schema missing from the path is skipped
    // until the transaction creates it; statements prepared meanwhile are planned again once it exists.
    pqxx::work path(target);
    const std::string live_path = path.exec1("SHOW search_path")[0].as<std::string>();
    path.commit();
    session.set(target, "search_path", target.quote_name(schema) + ", " + live_path);
  }
  (*projection)->on_connect(target, config.pooling);

  pqxx::work txn(target);
  txn.exec0("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  session.begin(txn);
  const pqxx::result checkpoint =
      txn.exec_params("SELECT position FROM projectord.checkpoints WHERE handler = $1", handler.name);
  if (checkpoint.empty()) throw std::runtime_error("handler " + handler.name + " has no checkpoint yet");
  const auto to = checkpoint[0][0].as<Position>();
  std::set<Position> dead_lettered;
  for (const auto& row : txn.exec_params("SELECT position FROM projectord.dead_letters WHERE handler = $1",
                                         handler.name)) {
    dead_lettered.insert(row[0].as<Position>());
  }
  txn.exec0("CREATE SCHEMA " + txn.quote_name(schema));
  handlers::create_missing(txn, (*projection)->setup_sql());

  SteadyClock clock;
  WakeSignal wake;
  const std::unique_ptr<Source> source = replay_source(config, handler, wake, clock);
  const std::int64_t applied = replay(txn, **projection, handler, *source, to, dead_lettered);
  std::cout << "verify " << handler.name << ": rebuilt from " << applied << " events up to the checkpoint " << to
            << " (" << dead_lettered.size() << " dead-lettered left out)\n";

  const auto bookkeeping = (*projection)->bookkeeping_columns();
  bool equal = true;
  for (const auto& table : txn.exec_params(
           "SELECT c.relname::text, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
           " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname",
           schema)) {
    const auto name = table[0].as<std::string>();
    const rebuild::LivePlace live = rebuild::live_place(txn, name, schema);
    if (!live.schema) {
      std::cout << "table " << printable(name) << ": no live table of that name\n";
      equal = false;
      continue;
    }
    const auto ignored = bookkeeping.find(name);
    const TableDiff diff = diff_table(txn, txn.quote_name(*live.schema) + "." + txn.quote_name(name),
                                      txn.quote_name(schema) + "." + txn.quote_name(name), table[1].as<std::int64_t>(),
                                      ignored == bookkeeping.end() ? std::set<std::string>{} : ignored->second,
                                      kShownDifferences);
    std::cout << "table " << printable(*live.schema + "." + name) << " (rows paired by "
              << printable(diff.paired_by()) << "): " << diff.live_rows
              << " live rows, " << diff.rebuilt_rows << " rebuilt; " << diff.missing << " missing, " << diff.extra
              << " extra, " << diff.differing << " differing\n";
    if (diff.equal()) continue;
    equal = false;
    const std::int64_t total = diff.missing + diff.extra + diff.differing;
    std::cout << "  the first " << diff.first.size() << " of " << total << " differences, in key order:\n";
    for (const RowDifference& difference : diff.first) print_difference(difference);
  }
  txn.abort();
  std::cout << (equal ? "equal: the live read model is what its events make it\n"
                      : "DIFFERENT: the live read model is not what its events make it\n");
  return equal ? 0 : 1;
}

}  // namespace

int command_verify(const config::Config& config, const std::string& handler) {
  const auto found = config.handlers.find(handler);
  if (found == config.handlers.end()) {
    std::cerr << "projectord: no handler " << printable(handler) << " in " << config.file << "\n";
    return 2;
  }
  if (const auto refusal = rebuild::refusal(found->second)) {
    std::cerr << "projectord: cannot verify: " << *refusal << "\n";
    return 2;
  }
  try {
    return verify(config, found->second);
  } catch (const std::exception& error) {
    std::cerr << "projectord: verify " << handler << " failed: " << postgres::error_text(error) << "\n";
    return 2;
  }
}

}  // namespace projectord::cli
