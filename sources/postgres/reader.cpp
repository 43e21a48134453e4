#include "sources/postgres/reader.hpp"

#include "base/postgres/identifier.hpp"
#include "sources/postgres/partition_match.hpp"

#include <algorithm>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

namespace projectord::sources {


namespace {

// A read's payloads stop at this many events of the largest size allowed: batches of big but allowed events
// still share a round trip and a transaction, while what a read holds (fetched, then decoded whole before it
// is applied) stays a small multiple of what the operator allowed one event.
constexpr std::size_t kBudgetEvents = 4;

// The columns a django_event_tables source's relation derives for every row.
constexpr const char* kDerivedType = "projectord_type";
constexpr const char* kDerivedPayload = "projectord_payload";

std::string column_or(const std::string& column, const std::string& fallback) {
  return column.empty() ? fallback : postgres::quote_identifier(column);
}

// The tables of a django_event_tables source as one relation with the columns a one-table source maps: each
// branch reads one table, its type the branch's number (named after the read: no config text reaches the
// SQL), its payload the whole row as a JSON object. row_to_json writes the row's text as it goes, where
// to_jsonb would build a binary object only to render it again, at twice the server's time per row: the
// decoder (row_decoder.hpp) takes the position out and the stream id from it. The planner pushes a query's
// position bounds into every branch and merges the branches' position index scans (Merge Append) in
// position order.
std::string union_of_tables(const config::PostgresSource& source) {
  const std::string position = postgres::quote_identifier(source.position_column);
  // Written `row.*`, not `row`: a column called like the alias would be taken for the whole row.
  const std::string row = "projectord_row";
  std::string relation = "(";
  for (std::size_t i = 0; i < source.tables.size(); ++i) {
    if (i > 0) relation += " UNION ALL ";
    relation += "SELECT " + row + "." + position + " AS " + position;
    relation += ", " + std::to_string(i) + " AS " + kDerivedType + ", row_to_json(" + row + ".*) AS " + kDerivedPayload;
    if (!source.recorded_at_column.empty()) {
      relation += ", " + row + "." + postgres::quote_identifier(source.recorded_at_column) + " AS " +
                  postgres::quote_identifier(source.recorded_at_column);
    }
    relation += " FROM " + postgres::quote_identifier(source.tables[i]) + " AS " + row;
  }
  return relation + ") AS events";
}

// Each branch's event type, by branch number.
std::vector<std::string> type_names(const config::PostgresSource& source) {
  std::vector<std::string> types;
  for (const std::string& table : source.tables) {
    const auto named = source.type_names.find(table);
    types.push_back(named == source.type_names.end() ? table : named->second);
  }
  return types;
}

}  // namespace

PostgresReader::PostgresReader(const config::PostgresSource& source, std::optional<config::Partition> partition)
    : source_(source),
      partition_(std::move(partition)),
      table_(source.tables.empty() ? postgres::quote_identifier(source.table) : union_of_tables(source)),
      position_(postgres::quote_identifier(source.position_column)),
      type_(source.tables.empty() ? postgres::quote_identifier(source.type_column) : kDerivedType),
      payload_(source.tables.empty() ? postgres::quote_identifier(source.payload_column) : kDerivedPayload),
      types_(type_names(source)) {
  snapshot_columns_ =
      "pg_snapshot_xmin(s)::text::bigint AS xmin, pg_snapshot_xmax(s)::text::bigint AS xmax, (SELECT coalesce(max(" +
      position_ + "), 0)::bigint FROM " + table_ + ") AS head";
  select_snapshot_ = "SELECT " + snapshot_columns_ + " FROM pg_current_snapshot() s";
  select_existing_ = "SELECT " + position_ + "::bigint FROM " + table_ + " WHERE " + position_ + " = ANY($1::bigint[])";
  select_range_ =
      "SELECT " + position_ + "::bigint, " +
      "(true" + filter_sql(3) + ")" +
      " FROM " + table_ + " WHERE " + position_ + " > $1 AND " + position_ + " <= $2 ORDER BY " + position_;
  // Unfiltered: positions of other applications' rows are not holes.
  select_positions_ = "SELECT " + position_ + "::bigint FROM " + table_ + " WHERE " + position_ + " > $1 AND " +
                      position_ + " <= $2 ORDER BY " + position_;
  select_head_ = "SELECT coalesce(max(" + position_ + "), 0)::bigint FROM " + table_ + " WHERE " + position_ +
                 " > $1 AND $2::bigint IS NOT NULL" + filter_sql(3);
  count_after_ =
      "SELECT count(*) FROM " + table_ + " WHERE " + position_ + " > $1 AND $2::bigint IS NOT NULL" + filter_sql(3);
}

std::string PostgresReader::filter_sql(int parameter) const {
  std::string match;
  if (!source_.filter_column.empty()) {
    match += " AND " + postgres::quote_identifier(source_.filter_column) + " = $" + std::to_string(parameter);
  }
  if (partition_) match += " AND " + partition_match(postgres::quote_identifier(source_.stream_id_column), *partition_);
  return match;
}

void PostgresReader::build_row_sql(bool payload_is_bytea) {
  const std::string& payload = payload_;
  // octet_length of bytea or text reads the stored value's size from its header: a huge payload is measured,
  // not loaded. json becomes text for free; jsonb has no text to measure and is rendered, on the server.
  const std::string payload_size =
      "coalesce(octet_length(" + payload + (payload_is_bytea ? "" : "::text") + "), 0)::bigint";
  const std::string columns =
      "SELECT " + position_ + "::bigint AS position, " +
      (source_.tables.empty() ? column_or(source_.stream_id_column, "''") : std::string("''")) +
      "::text AS stream_id, " +
      (source_.version_column.empty() ? "0" : postgres::quote_identifier(source_.version_column) + "::bigint") +
      " AS version, " + type_ + "::text AS type, " + payload +
      " AS payload, " + column_or(source_.metadata_column, "NULL") + "::text AS metadata, " +
      column_or(source_.recorded_at_column, "NULL") + "::text AS recorded_at, " + payload_size +
      " AS payload_size, " + column_or(source_.payload_format_column, "NULL") + "::text AS payload_format, " +
      column_or(source_.event_version_column, "NULL") + "::bigint AS event_version FROM " + table_ + " WHERE ";
  // Literals, not parameters: they are config integers, and the prepared read keeps its parameter numbers.
  const std::string max_bytes = std::to_string(source_.max_event_bytes);
  const std::string fetched_size = "CASE WHEN payload_size <= " + max_bytes + " THEN payload_size ELSE 0 END";
  // The payload goes out only within max_event_bytes; the rows in `from` keep it a reference until here.
  const auto fetched = [&](const std::string& from, const std::string& where) {
    return "SELECT position, stream_id, version, type, CASE WHEN payload_size <= " + max_bytes +
           " THEN payload END AS payload, metadata, recorded_at, payload_size, payload_format, event_version FROM (" +
           from +
           ") stored" + where;
  };
  // The rows up to the one whose payload reaches the byte budget: the budget bounds a read, one row over it
  // at most.
  const auto select_rows = [&](int filter_parameter) {
    const std::string limited =
        columns + position_ + " > $1" + filter_sql(filter_parameter) + " ORDER BY " + position_ + " LIMIT $2";
    return fetched("SELECT *, coalesce(sum(" + fetched_size +
                       ") OVER (ORDER BY position ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS "
                       "bytes_before FROM (" + limited + ") limited",
                   " WHERE bytes_before < " + std::to_string(byte_budget()));
  };

  // One statement, so one snapshot and one round trip: the snapshot bounds, the head, the rows, and for a
  // filtered source whose rows beyond the settled bound ($3) leave a position out, how many positions of the
  // whole table lie under the rows. Rows that run on without a gap need no count (a live event is the next
  // position), so only a gap costs its index scan. An unfiltered source's gap is a position missing from the
  // whole table, which no count can fill.
  // No ORDER BY outside `batch`: sorting the joined rows again, payloads and all, was about an eighth of the
  // statement's time (bench/catchup, pg_stat_statements: 4.6 s became 4.0 s per 1,000,000 events). A nested
  // loop over a one-row outer side keeps the CTE's order; append_rows checks.
  const std::string present =
      !filtered()
          ? std::string("SELECT NULL::bigint AS n")
          : "SELECT CASE WHEN last_position > $3 AND last_position - $1 <> row_count THEN (SELECT count(*) FROM " +
                table_ + " WHERE " + position_ + " > $1 AND " + position_ +
                " <= last_position) END AS n FROM (SELECT max(position) AS last_position, count(*) AS row_count FROM "
                "batch) span";
  select_cycle_ = "WITH snapshot AS MATERIALIZED (SELECT " + snapshot_columns_ +
                  " FROM pg_current_snapshot() s), batch AS MATERIALIZED (" + select_rows(4) +
                  "), present AS MATERIALIZED (" + present +
                  ") SELECT snapshot.*, present.n, batch.* FROM snapshot CROSS JOIN present LEFT JOIN batch ON true";
  select_rows_ = select_rows(3);
  select_at_ = fetched(columns + position_ + " = ANY($1::bigint[])" + filter_sql(2), " ORDER BY position");
}

template <class Transaction>
pqxx::result PostgresReader::exec_filtered(Transaction& txn, const std::string& sql, Position position,
                                           std::int64_t n) const {
  if (source_.filter_column.empty()) return txn.exec_params(sql, position, n);
  return txn.exec_params(sql, position, n, source_.filter_value);
}

namespace {

// The live path runs it for every event: prepared on a session connection, so the server plans it once per
// connection.
constexpr const char* kReadCycle = "projectord_read_cycle";
// pg_type's oid of bytea, fixed since PostgreSQL's first catalog.
constexpr pqxx::oid kByteaType = 17;

// Rows of a result whose columns from `first` on are position, stream_id, version, type, payload, metadata,
// recorded_at, payload_size, payload_format, event_version; a NULL position (the empty side of a LEFT JOIN)
// ends them. `types`: a django_event_tables source's types by branch number, which its rows' type column holds;
// empty: the type is the stored one.
void append_rows(const pqxx::result& result, pqxx::row::size_type first, const std::vector<std::string>& types,
                 std::vector<RawRow>& rows) {
  rows.reserve(result.size());
  for (const pqxx::row& row : result) {
    if (row[first].is_null()) break;
    RawRow raw;
    raw.position = row[first].as<Position>();
    raw.stream_id = row[first + 1].c_str();
    raw.version = row[first + 2].as<std::int64_t>();
    raw.type = types.empty() ? row[first + 3].c_str() : types.at(row[first + 3].as<std::size_t>());
    if (!row[first + 4].is_null()) raw.payload.assign(row[first + 4].c_str(), row[first + 4].size());
    if (!row[first + 5].is_null()) raw.metadata.emplace(row[first + 5].c_str(), row[first + 5].size());
    if (!row[first + 6].is_null()) raw.recorded_at = row[first + 6].c_str();
    raw.payload_size = row[first + 7].as<std::int64_t>();
    if (!row[first + 8].is_null()) raw.payload_format.emplace(row[first + 8].c_str(), row[first + 8].size());
    if (!row[first + 9].is_null()) raw.event_version = row[first + 9].as<std::int64_t>();
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

// Whether the rows' fetched payloads reached `budget`, i.e. the read may have stopped before its limit.
bool reached(const std::vector<RawRow>& rows, std::size_t max_event_bytes, std::size_t budget) {
  std::size_t bytes = 0;
  for (const RawRow& row : rows) {
    if (row.payload_size <= static_cast<std::int64_t>(max_event_bytes)) bytes += static_cast<std::size_t>(row.payload_size);
  }
  return bytes >= budget;
}

}  // namespace

std::size_t PostgresReader::byte_budget() const { return kBudgetEvents * source_.max_event_bytes; }

void PostgresReader::prepare(pqxx::connection& connection, postgres::Pooling pooling) {
  {
    // The payload's type decides how it is measured; a query that returns no row tells it.
    pqxx::nontransaction txn(connection);
    const pqxx::result shape =
        txn.exec("SELECT " + payload_ + " FROM " + table_ + " LIMIT 0");
    build_row_sql(shape.column_type(0) == kByteaType);
  }
  statements_ = {};
  statements_.add(kReadCycle, select_cycle_);
  statements_.prepare(connection, pooling);
}

ReadCycle PostgresReader::read(pqxx::connection& connection, Position after, std::size_t limit,
                               Position settled) const {
  ReadCycle cycle;
  std::optional<std::int64_t> present;
  {
    pqxx::nontransaction txn(connection);
    const auto n = static_cast<std::int64_t>(limit);
    const pqxx::result result =
        !filtered()                      ? statements_.exec(txn, kReadCycle, after, n)
        : source_.filter_column.empty() ? statements_.exec(txn, kReadCycle, after, n, settled)
                                        : statements_.exec(txn, kReadCycle, after, n, settled, source_.filter_value);
    const pqxx::row first = result[0];
    cycle.snapshot = {first[0].as<std::uint64_t>(), first[1].as<std::uint64_t>(), first[2].as<Position>()};
    if (!first[3].is_null()) present = first[3].as<std::int64_t>();
    append_rows(result, 4, types_, cycle.rows);
  }
  cycle.over_budget = reached(cycle.rows, source_.max_event_bytes, byte_budget());
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
  append_rows(exec_filtered(txn, select_rows_, after, static_cast<std::int64_t>(limit)), 0, types_, cycle.rows);
  cycle.over_budget = reached(cycle.rows, source_.max_event_bytes, byte_budget());
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
                0, types_, check.rows);
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
  std::vector<std::string> statements{
      "CREATE SCHEMA IF NOT EXISTS projectord",
      "CREATE OR REPLACE FUNCTION projectord.notify_insert() RETURNS trigger LANGUAGE plpgsql AS "
      "$$BEGIN PERFORM pg_notify(TG_ARGV[0], ''); RETURN NULL; END$$",
  };
  for (const std::string& table : config::event_tables(source_)) {
    const std::string quoted = postgres::quote_identifier(table);
    statements.push_back("DROP TRIGGER IF EXISTS projectord_notify ON " + quoted);
    statements.push_back("CREATE TRIGGER projectord_notify AFTER INSERT ON " + quoted +
                         " FOR EACH STATEMENT EXECUTE FUNCTION projectord.notify_insert('" + source_.notify_channel +
                         "')");
  }
  return statements;
}

std::vector<std::string> PostgresReader::uninstall_trigger_sql() const {
  std::vector<std::string> statements;
  for (const std::string& table : config::event_tables(source_)) {
    statements.push_back("DROP TRIGGER IF EXISTS projectord_notify ON " + postgres::quote_identifier(table));
  }
  return statements;
}

}  // namespace projectord::sources
