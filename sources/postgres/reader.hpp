#pragma once
/// Reads one cycle of a PostgreSQL event table: the snapshot it read in, the next rows after a position,
/// and how far those rows are known to be contiguous (no position missing in the whole table between).
/// A django_event_tables source's tables (one per event type, positions from one shared sequence) are read
/// as one table: the UNION ALL of one branch per table, each row typed by its table, its payload the row.
///
/// All SQL is built once from the validated, quoted column mapping; the position, limit and filter value
/// are bound parameters. A payload over the source's max_event_bytes is never fetched (only its size), and a
/// read stops early once its rows' payloads reach a byte budget, so one huge row or a run of big ones never
/// reaches the client whole. A cycle is one statement (one snapshot, one round trip), so the snapshot bounds
/// (xmin, xmax, head) describe exactly the rows returned; only a filtered source with a missing position
/// under its rows takes a second, REPEATABLE READ pass to find the contiguous run in one snapshot.
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "base/event.hpp"
#include "base/postgres/statement_set.hpp"
#include "sources/postgres/settled_horizon.hpp"

namespace projectord::sources {

/// One stored row as the server sent it, before the payload is decoded.
struct RawRow {
  Position position = 0;
  std::string stream_id;
  std::int64_t version = 0;
  std::string type;
  std::string payload;                  ///< text form: bytea hex, json text, ...; empty when not fetched
  std::int64_t payload_size = 0;        ///< bytes stored; over max_event_bytes the payload is not fetched
  std::optional<std::string> metadata;  ///< JSON text
  std::string recorded_at;              ///< timestamptz text (UTC session), empty when unmapped
  std::optional<std::string> payload_format;  ///< the payload_format_column's value, when one is mapped
  std::optional<std::int64_t> event_version;  ///< the event_version_column's value, when one is mapped
};

struct ReadCycle {
  SnapshotInfo snapshot;
  std::vector<RawRow> rows;     ///< ordered by position, at most `limit`
  Position contiguous_end = 0;  ///< every position in (after, contiguous_end] exists in the table
  bool over_budget = false;     ///< the rows' payloads reached the read's byte budget: more may follow at once
};

/// What became of positions a lane passed as holes: the source's rows now there (late arrivals), and every
/// position now taken by any row (another application's rows are no late arrival but no hole either).
struct HoleCheck {
  std::vector<RawRow> rows;
  std::vector<Position> existing;
};

class PostgresReader {
 public:
  /// `partition`: read only that partition's streams (sources/postgres/partition_match.hpp); the other
  /// partitions' rows are the source's rows that this reader does not take, like a filter's.
  explicit PostgresReader(const config::PostgresSource& source,
                          std::optional<config::Partition> partition = std::nullopt);

  /// Learns the payload column's type and prepares the read cycle on a connection, where `pooling` lets it be
  /// prepared; call once per connection before `read` and `check_holes`.
  void prepare(pqxx::connection& connection, postgres::Pooling pooling);

  /// `settled`: the caller's settled bound; contiguity is only worked out for rows beyond it.
  ReadCycle read(pqxx::connection& connection, Position after, std::size_t limit, Position settled) const;

  /// Positions in (after, to] taken in the whole table, each with whether the row is this source's.
  std::vector<std::pair<Position, bool>> positions_between(pqxx::connection& connection, Position after,
                                                           Position to) const;

  /// The payload bytes one read stops at (a row that passes it is still read).
  std::size_t byte_budget() const;

  /// Looks again at positions passed as holes.
  HoleCheck check_holes(pqxx::connection& connection, const std::vector<Position>& holes) const;

  /// The snapshot bounds and the whole table's head now, outside a read cycle.
  SnapshotInfo snapshot(pqxx::connection& connection) const;

  /// Highest position this source (with its filter) has, 0 for an empty table.
  Position head(pqxx::connection& connection) const;
  /// Events of this source (with its filter) after `position`: the lag in events.
  std::int64_t count_after(pqxx::connection& connection, Position position) const;

  /// SQL that installs / removes the statement-level NOTIFY trigger (run by `projectord migrate`).
  std::vector<std::string> install_trigger_sql() const;
  std::vector<std::string> uninstall_trigger_sql() const;

  const config::PostgresSource& source() const { return source_; }
  /// Whether some rows of the table are not this reader's (a filter, a partition): their positions are no holes.
  bool filtered() const { return !source_.filter_column.empty() || partition_.has_value(); }

 private:
  /// The read's conditions beyond the position, `AND ...`; the filter value is parameter $`parameter`.
  std::string filter_sql(int parameter) const;
  /// The statements that read rows, payloads measured as bytea or as text.
  void build_row_sql(bool payload_is_bytea);
  ReadCycle read_exact(pqxx::connection& connection, Position after, std::size_t limit) const;

  template <class Transaction>
  pqxx::result exec_filtered(Transaction& txn, const std::string& sql, Position position, std::int64_t n) const;

  config::PostgresSource source_;
  std::optional<config::Partition> partition_;
  std::string table_;  ///< the quoted table, or a django_event_tables source's tables as one relation
  std::string position_;
  std::string type_;     ///< table_'s column of the event type
  std::string payload_;  ///< table_'s column of the payload
  std::vector<std::string> types_;  ///< a django_event_tables source's event types by branch; else empty
  std::string snapshot_columns_;
  std::string select_cycle_;
  postgres::StatementSet statements_;  ///< the read cycle
  std::string select_rows_;
  std::string select_at_;
  std::string select_existing_;
  std::string select_range_;
  std::string select_snapshot_;
  std::string select_positions_;
  std::string select_head_;
  std::string count_after_;
};

}  // namespace projectord::sources
