#pragma once
/// A pyeventsourcing tracking table (`{prefix}_tracking`) that a projection handler keeps at its checkpoint, so
/// that a Python ProjectionRunner and projectord hand the place over in either direction without applying an
/// event twice or skipping one. Its rows name the *upstream* application (`application_name`) and a
/// notification id, the source's position. Both of the library's layouts are recognised by the table's primary
/// key: `(application_name)`, one row per application moved forward by an upsert (9.4 on, with its
/// `__migration__` marker row), and `(application_name, notification_id)`, one row per processed notification
/// (up to 9.3); either way the place is the application's largest notification id. `record` writes the place
/// in the batch's own transaction, the one that moves the checkpoint, and never moves a single row backwards.
#include <optional>
#include <pqxx/transaction_base>
#include <string>

#include "base/event.hpp"
#include "config/config.hpp"

namespace projectord::checkpoints {

class TrackingTable {
 public:
  /// `table` is a validated identifier, possibly schema-qualified (config: tracking_table).
  TrackingTable(std::string table, std::string application);

  /// Reads the table's layout from its primary key; run again on every session, since the library's
  /// migration replaces a multi-row table with a single-row one. Throws when the table is missing or its key
  /// is neither layout's.
  void detect(pqxx::transaction_base& txn);

  /// The application's place: its largest notification id, 0 when it has no row.
  Position position(pqxx::transaction_base& txn) const;

  /// Records `position` as processed, as the library does in its layout; call `detect` first.
  void record(pqxx::transaction_base& txn, Position position) const;

  /// The place becomes exactly `position`, backwards too (an operator's checkpoint reset); call `detect` first.
  void reset(pqxx::transaction_base& txn, Position position) const;

  const std::string& table() const { return table_; }

 private:
  std::string table_;
  std::string quoted_;
  std::string application_;
  bool single_row_ = false;  // the layout, set by detect with record_sql_
  std::string record_sql_;
};

/// The handler's tracking table (config: tracking_table, tracking_application), or none.
std::optional<TrackingTable> tracking_table_of(const config::Handler& handler);

}  // namespace projectord::checkpoints
