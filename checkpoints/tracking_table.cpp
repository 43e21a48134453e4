#include "checkpoints/tracking_table.hpp"

#include <stdexcept>

#include "base/postgres/identifier.hpp"

namespace projectord::checkpoints {

TrackingTable::TrackingTable(std::string table, std::string application)
    : table_(std::move(table)), quoted_(postgres::quote_identifier(table_)), application_(std::move(application)) {}

void TrackingTable::detect(pqxx::transaction_base& txn) {
  const pqxx::row key = txn.exec_params1(
      "SELECT to_regclass($1) IS NOT NULL,"
      " (SELECT string_agg(a.attname::text, ',' ORDER BY a.attname) FROM pg_index i"
      "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
      "  WHERE i.indrelid = to_regclass($1) AND i.indisprimary)",
      quoted_);
  if (!key[0].as<bool>()) {
    throw std::runtime_error("tracking table " + table_ + " does not exist (the Python application creates it)");
  }
  const std::string columns = key[1].is_null() ? "" : key[1].as<std::string>();
  single_row_ = columns == "application_name";
  if (single_row_) {
    record_sql_ = "INSERT INTO " + quoted_ + " AS t (application_name, notification_id) VALUES ($1, $2)"
                  " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id"
                  " WHERE t.notification_id < EXCLUDED.notification_id";
  } else if (columns == "application_name,notification_id") {
    record_sql_ = "INSERT INTO " + quoted_ + " (application_name, notification_id) VALUES ($1, $2)"
                  " ON CONFLICT DO NOTHING";
  } else {
    throw std::runtime_error("tracking table " + table_ + " has the primary key (" + columns +
                             "), neither pyeventsourcing layout's: (application_name) or"
                             " (application_name, notification_id)");
  }
}

Position TrackingTable::position(pqxx::transaction_base& txn) const {
  return txn
      .exec_params1("SELECT coalesce(max(notification_id), 0) FROM " + quoted_ + " WHERE application_name = $1",
                    application_)[0]
      .as<Position>();
}

void TrackingTable::record(pqxx::transaction_base& txn, Position position) const {
  if (record_sql_.empty()) throw std::logic_error("tracking table " + table_ + ": record before detect");
  txn.exec_params0(record_sql_, application_, position);
}

}  // namespace projectord::checkpoints

namespace projectord::checkpoints {

void TrackingTable::reset(pqxx::transaction_base& txn, Position position) const {
  if (record_sql_.empty()) throw std::logic_error("tracking table " + table_ + ": reset before detect");
  if (single_row_) {
    txn.exec_params0("UPDATE " + quoted_ + " SET notification_id = $2 WHERE application_name = $1", application_,
                     position);
  } else {
    txn.exec_params0("DELETE FROM " + quoted_ + " WHERE application_name = $1 AND notification_id > $2",
                     application_, position);
  }
  if (position > 0) record(txn, position);
}

std::optional<TrackingTable> tracking_table_of(const config::Handler& handler) {
  if (handler.tracking_table.empty()) return std::nullopt;
  return TrackingTable(handler.tracking_table, handler.tracking_application);
}

}  // namespace projectord::checkpoints
