#include "daemon/sources/postgres_reader.hpp"

#include <pqxx/result>
#include <pqxx/transaction>

namespace projectord::sources {

std::string quote_identifier(const std::string& name) {
  std::string quoted;
  quoted.reserve(name.size() + 4);
  quoted += '"';
  for (char c : name) {
    if (c == '.') {
      quoted += "\".\"";
    } else if (c == '"') {
      quoted += "\"\"";
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

namespace {

std::string column_or(const std::string& column, const std::string& fallback) {
  return column.empty() ? fallback : quote_identifier(column);
}

}  // namespace

PostgresReader::PostgresReader(const config::PostgresSource& source)
    : source_(source), table_(quote_identifier(source.table)), position_(quote_identifier(source.position_column)) {
  const std::string filter =
      source.filter_column.empty() ? "" : " AND " + quote_identifier(source.filter_column) + " = $3";
  select_rows_ = "SELECT " + position_ + "::bigint, " + column_or(source.stream_id_column, "''") + "::text, " +
                 (source.version_column.empty() ? "0" : quote_identifier(source.version_column) + "::bigint") + ", " +
                 quote_identifier(source.type_column) + "::text, " + quote_identifier(source.payload_column) + ", " +
                 column_or(source.metadata_column, "NULL") + "::text, " + column_or(source.recorded_at_column, "NULL") +
                 "::text FROM " + table_ + " WHERE " + position_ + " > $1" + filter + " ORDER BY " + position_ +
                 " LIMIT $2";
  select_snapshot_ =
      "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint, "
      "(SELECT coalesce(max(" +
      position_ + "), 0)::bigint FROM " + table_ + ") FROM pg_current_snapshot() s";
  // Unfiltered: positions of other applications' rows are not holes.
  select_positions_ = "SELECT " + position_ + "::bigint FROM " + table_ + " WHERE " + position_ + " > $1 AND " +
                      position_ + " <= $2 ORDER BY " + position_;
  select_head_ = "SELECT coalesce(max(" + position_ + "), 0)::bigint FROM " + table_ + " WHERE " + position_ +
                 " > $1 AND $2::bigint IS NOT NULL" + filter;
  count_after_ = "SELECT count(*) FROM " + table_ + " WHERE " + position_ + " > $1 AND $2::bigint IS NOT NULL" + filter;
}

template <class Transaction>
pqxx::result PostgresReader::exec_filtered(Transaction& txn, const std::string& sql, Position position,
                                           std::int64_t n) const {
  if (source_.filter_column.empty()) return txn.exec_params(sql, position, n);
  return txn.exec_params(sql, position, n, source_.filter_value);
}

ReadCycle PostgresReader::read(pqxx::connection& connection, Position after, std::size_t limit) const {
  ReadCycle cycle;
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(connection);
  const pqxx::row snapshot = txn.exec1(select_snapshot_);
  cycle.snapshot = {snapshot[0].as<std::uint64_t>(), snapshot[1].as<std::uint64_t>(), snapshot[2].as<Position>()};

  const pqxx::result rows = exec_filtered(txn, select_rows_, after, static_cast<std::int64_t>(limit));
  cycle.rows.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    RawRow raw;
    raw.position = row[0].as<Position>();
    raw.stream_id = row[1].c_str();
    raw.version = row[2].as<std::int64_t>();
    raw.type = row[3].c_str();
    raw.payload.assign(row[4].c_str(), row[4].size());
    if (!row[5].is_null()) raw.metadata.emplace(row[5].c_str(), row[5].size());
    if (!row[6].is_null()) raw.recorded_at = row[6].c_str();
    cycle.rows.push_back(std::move(raw));
  }

  cycle.contiguous_end = after;
  for (const RawRow& row : cycle.rows) {
    if (row.position != cycle.contiguous_end + 1) break;
    cycle.contiguous_end = row.position;
  }
  // A filtered source sees other applications' positions as gaps; ask the whole table whether they exist.
  const bool gap_may_be_foreign =
      !source_.filter_column.empty() && !cycle.rows.empty() && cycle.contiguous_end < cycle.rows.back().position;
  if (gap_may_be_foreign) {
    for (const pqxx::row& row : txn.exec_params(select_positions_, cycle.contiguous_end, cycle.rows.back().position)) {
      const auto position = row[0].as<Position>();
      if (position != cycle.contiguous_end + 1) break;
      cycle.contiguous_end = position;
    }
  }
  txn.commit();
  return cycle;
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
