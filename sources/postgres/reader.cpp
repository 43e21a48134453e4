#include "sources/postgres/reader.hpp"

#include "base/postgres/identifier.hpp"

#include <algorithm>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

namespace projectord::sources {


namespace {

std::string column_or(const std::string& column, const std::string& fallback) {
  return column.empty() ? fallback : postgres::quote_identifier(column);
}

}  // namespace

PostgresReader::PostgresReader(const config::PostgresSource& source)
    : source_(source), table_(postgres::quote_identifier(source.table)), position_(postgres::quote_identifier(source.position_column)) {
  auto filter = [&](int parameter) {
    return source.filter_column.empty()
               ? std::string()
               : " AND " + postgres::quote_identifier(source.filter_column) + " = $" + std::to_string(parameter);
  };
  const std::string columns =
      "SELECT " + position_ + "::bigint AS position, " + column_or(source.stream_id_column, "''") +
      "::text AS stream_id, " +
      (source.version_column.empty() ? "0" : postgres::quote_identifier(source.version_column) + "::bigint") + " AS version, " +
      postgres::quote_identifier(source.type_column) + "::text AS type, " + postgres::quote_identifier(source.payload_column) +
      " AS payload, " + column_or(source.metadata_column, "NULL") + "::text AS metadata, " +
      column_or(source.recorded_at_column, "NULL") + "::text AS recorded_at FROM " + table_ + " WHERE ";
  auto select_rows = [&](int filter_parameter) {
    return columns + position_ + " > $1" + filter(filter_parameter) + " ORDER BY " + position_ + " LIMIT $2";
  };
  const std::string snapshot_columns =
      "pg_snapshot_xmin(s)::text::bigint AS xmin, pg_snapshot_xmax(s)::text::bigint AS xmax, (SELECT coalesce(max(" +
      position_ + "), 0)::bigint FROM " + table_ + ") AS head";

  // One statement, so one snapshot and one round trip: the snapshot bounds, the head, the rows, and for a
  // filtered source beyond the settled bound ($3) how many positions of the whole table lie under the rows.
  // No ORDER BY outside `batch`: sorting the joined rows again, payloads and all, was about an eighth of the
  // statement's time (bench/catchup, pg_stat_statements: 4.6 s became 4.0 s per 1,000,000 events). A nested
  // loop over a one-row outer side keeps the CTE's order; append_rows checks.
  select_cycle_ = "WITH snapshot AS MATERIALIZED (SELECT " + snapshot_columns +
                  " FROM pg_current_snapshot() s), batch AS MATERIALIZED (" + select_rows(4) +
                  "), present AS MATERIALIZED (SELECT CASE WHEN (SELECT max(position) FROM batch) > $3 THEN (SELECT "
                  "count(*) FROM " +
                  table_ + " WHERE " + position_ + " > $1 AND " + position_ +
                  " <= (SELECT max(position) FROM batch)) END AS n) SELECT snapshot.*, present.n, batch.* FROM "
                  "snapshot CROSS JOIN present LEFT JOIN batch ON true";
  select_snapshot_ = "SELECT " + snapshot_columns + " FROM pg_current_snapshot() s";
  select_rows_ = select_rows(3);
  select_at_ = columns + position_ + " = ANY($1::bigint[])" + filter(2) + " ORDER BY " + position_;
  select_existing_ = "SELECT " + position_ + "::bigint FROM " + table_ + " WHERE " + position_ + " = ANY($1::bigint[])";
  select_range_ =
      "SELECT " + position_ + "::bigint, " +
      (source.filter_column.empty() ? std::string("true") : "(" + postgres::quote_identifier(source.filter_column) + " = $3)") +
      " FROM " + table_ + " WHERE " + position_ + " > $1 AND " + position_ + " <= $2 ORDER BY " + position_;
  // Unfiltered: positions of other applications' rows are not holes.
  select_positions_ = "SELECT " + position_ + "::bigint FROM " + table_ + " WHERE " + position_ + " > $1 AND " +
                      position_ + " <= $2 ORDER BY " + position_;
  select_head_ = "SELECT coalesce(max(" + position_ + "), 0)::bigint FROM " + table_ + " WHERE " + position_ +
                 " > $1 AND $2::bigint IS NOT NULL" + filter(3);
  count_after_ =
      "SELECT count(*) FROM " + table_ + " WHERE " + position_ + " > $1 AND $2::bigint IS NOT NULL" + filter(3);
}

template <class Transaction>
pqxx::result PostgresReader::exec_filtered(Transaction& txn, const std::string& sql, Position position,
                                           std::int64_t n) const {
  if (source_.filter_column.empty()) return txn.exec_params(sql, position, n);
  return txn.exec_params(sql, position, n, source_.filter_value);
}

namespace {

// The live path runs it for every event: prepared, so the server plans it once per connection.
constexpr const char* kReadCycle = "projectord_read_cycle";

// Rows of a result whose columns from `first` on are position, stream_id, version, type, payload, metadata,
// recorded_at; a NULL position (the empty side of a LEFT JOIN) ends them.
void append_rows(const pqxx::result& result, pqxx::row::size_type first, std::vector<RawRow>& rows) {
  rows.reserve(result.size());
  for (const pqxx::row& row : result) {
    if (row[first].is_null()) break;
    RawRow raw;
    raw.position = row[first].as<Position>();
    raw.stream_id = row[first + 1].c_str();
    raw.version = row[first + 2].as<std::int64_t>();
    raw.type = row[first + 3].c_str();
    raw.payload.assign(row[first + 4].c_str(), row[first + 4].size());
    if (!row[first + 5].is_null()) raw.metadata.emplace(row[first + 5].c_str(), row[first + 5].size());
    if (!row[first + 6].is_null()) raw.recorded_at = row[first + 6].c_str();
    rows.push_back(std::move(raw));
  }
  const auto by_position = [](const RawRow& a, const RawRow& b) { return a.position < b.position; };
  if (!std::is_sorted(rows.begin(), rows.end(), by_position)) std::sort(rows.begin(), rows.end(), by_position);
}

// How far the rows run on from `after` without a missing position.
Position contiguous_from(Position after, const std::vector<RawRow>& rows) {
  for (const RawRow& row : rows) {
    if (row.position != after + 1) break;
    after = row.position;
  }
  return after;
}

}  // namespace

void PostgresReader::prepare(pqxx::connection& connection) const { connection.prepare(kReadCycle, select_cycle_); }

ReadCycle PostgresReader::read(pqxx::connection& connection, Position after, std::size_t limit,
                               Position settled) const {
  ReadCycle cycle;
  std::optional<std::int64_t> present;
  {
    pqxx::nontransaction txn(connection);
    const auto n = static_cast<std::int64_t>(limit);
    const pqxx::result result = source_.filter_column.empty()
                                    ? txn.exec_prepared(kReadCycle, after, n, settled)
                                    : txn.exec_prepared(kReadCycle, after, n, settled, source_.filter_value);
    const pqxx::row first = result[0];
    cycle.snapshot = {first[0].as<std::uint64_t>(), first[1].as<std::uint64_t>(), first[2].as<Position>()};
    if (!first[3].is_null()) present = first[3].as<std::int64_t>();
    append_rows(result, 4, cycle.rows);
  }
  cycle.contiguous_end = contiguous_from(after, cycle.rows);
  if (cycle.rows.empty() || cycle.contiguous_end == cycle.rows.back().position || !present) return cycle;
  // A filtered source sees other applications' rows as gaps: if every position under the rows exists in the
  // whole table, they are contiguous; if one is missing, find the run before it, in one snapshot.
  if (*present == cycle.rows.back().position - after) {
    cycle.contiguous_end = cycle.rows.back().position;
    return cycle;
  }
  return read_exact(connection, after, limit);
}

ReadCycle PostgresReader::read_exact(pqxx::connection& connection, Position after, std::size_t limit) const {
  ReadCycle cycle;
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(connection);
  const pqxx::row snapshot = txn.exec1(select_snapshot_);
  cycle.snapshot = {snapshot[0].as<std::uint64_t>(), snapshot[1].as<std::uint64_t>(), snapshot[2].as<Position>()};
  append_rows(exec_filtered(txn, select_rows_, after, static_cast<std::int64_t>(limit)), 0, cycle.rows);
  cycle.contiguous_end = contiguous_from(after, cycle.rows);
  if (!cycle.rows.empty() && cycle.contiguous_end < cycle.rows.back().position) {
    for (const pqxx::row& row : txn.exec_params(select_positions_, cycle.contiguous_end, cycle.rows.back().position)) {
      const auto position = row[0].as<Position>();
      if (position != cycle.contiguous_end + 1) break;
      cycle.contiguous_end = position;
    }
  }
  txn.commit();
  return cycle;
}

std::vector<std::pair<Position, bool>> PostgresReader::positions_between(pqxx::connection& connection, Position after,
                                                                         Position to) const {
  pqxx::read_transaction txn(connection);
  std::vector<std::pair<Position, bool>> positions;
  for (const pqxx::row& row : exec_filtered(txn, select_range_, after, to)) {
    positions.emplace_back(row[0].as<Position>(), row[1].as<bool>());
  }
  return positions;
}

HoleCheck PostgresReader::check_holes(pqxx::connection& connection, const std::vector<Position>& holes) const {
  std::string array = "{";
  for (const Position hole : holes) array += (array.size() > 1 ? "," : "") + std::to_string(hole);
  array += "}";
  HoleCheck check;
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(connection);
  for (const pqxx::row& row : txn.exec_params(select_existing_, array)) check.existing.push_back(row[0].as<Position>());
  if (!check.existing.empty()) {
    append_rows(source_.filter_column.empty() ? txn.exec_params(select_at_, array)
                                              : txn.exec_params(select_at_, array, source_.filter_value),
                0, check.rows);
  }
  txn.commit();
  return check;
}

SnapshotInfo PostgresReader::snapshot(pqxx::connection& connection) const {
  pqxx::nontransaction txn(connection);
  const pqxx::row row = txn.exec1(select_snapshot_);
  return {row[0].as<std::uint64_t>(), row[1].as<std::uint64_t>(), row[2].as<Position>()};
}

Position PostgresReader::head(pqxx::connection& connection) const {
  pqxx::read_transaction txn(connection);
  return exec_filtered(txn, select_head_, 0, 0)[0][0].as<Position>();
}

std::int64_t PostgresReader::count_after(pqxx::connection& connection, Position position) const {
  pqxx::read_transaction txn(connection);
  return exec_filtered(txn, count_after_, position, 0)[0][0].as<std::int64_t>();
}

std::vector<std::string> PostgresReader::install_trigger_sql() const {
  // The channel is config, validated as an identifier; it reaches pg_notify as a literal trigger argument.
  return {
      "CREATE SCHEMA IF NOT EXISTS projectord",
      "CREATE OR REPLACE FUNCTION projectord.notify_insert() RETURNS trigger LANGUAGE plpgsql AS "
      "$$BEGIN PERFORM pg_notify(TG_ARGV[0], ''); RETURN NULL; END$$",
      "DROP TRIGGER IF EXISTS projectord_notify ON " + table_,
      "CREATE TRIGGER projectord_notify AFTER INSERT ON " + table_ +
          " FOR EACH STATEMENT EXECUTE FUNCTION projectord.notify_insert('" + source_.notify_channel + "')",
  };
}

std::vector<std::string> PostgresReader::uninstall_trigger_sql() const {
  return {"DROP TRIGGER IF EXISTS projectord_notify ON " + table_};
}

}  // namespace projectord::sources
