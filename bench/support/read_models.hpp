#pragma once
/// The demo's read models (user_projection, user_event_log) as the benchmarks check them: copies of the same
/// shape, the set-based reference computed into such copies, and comparisons reported as checks. The columns
/// compared leave out those set from the clock when a row is written (updated_at, processed_at).
#include <cstdint>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>

#include "bench/support/report.hpp"

namespace projectord::bench {

/// user_projection's columns that follow from the events alone.
inline constexpr const char* kUserColumns =
    "user_id, username, email, first_name, last_name, phone, is_active, created_at, deactivated_at, current_version,"
    " last_event_processed";
/// user_event_log's columns that follow from the events alone.
inline constexpr const char* kLogColumns =
    "user_id, event_type, event_version, event_data, \"timestamp\", global_position";

/// Creates `copy` with the columns, defaults, identity and indexes of `original`.
void create_like(pqxx::connection& connection, const std::string& copy, const std::string& original);

/// Creates `copy` with `original`'s columns and rows (no indexes: a snapshot to compare with later).
void copy_table(pqxx::connection& connection, const std::string& copy, const std::string& original);

/// Adds the indexes for readers of the two models (handlers/django_tables.hpp) to tables shaped like them
/// (none to `event_log` when it is empty): the models as their readers query them, which projectord builds
/// once caught up and every reference here must end with too.
void add_reader_indexes(pqxx::transaction_base& txn, const std::string& users, const std::string& event_log);

/// Runs the set-based statements (reference_sql.hpp) over the events with id <= last_id into the two tables,
/// shaped like user_projection and user_event_log (none when `event_log` is empty), then adds the indexes
/// for readers, in one transaction.
void run_set_based(pqxx::connection& connection, const std::string& users, const std::string& event_log,
                   std::int64_t last_id);

/// The rows in which two tables differ over `columns` as multisets (EXCEPT ALL both ways): 0 when they hold
/// the same rows, duplicates included.
std::int64_t differing_rows(pqxx::connection& connection, const std::string& a, const std::string& b,
                            const std::string& columns);

/// differing_rows() reported as a check, which also fails when `a` is empty.
void check_same(Checks& checks, pqxx::connection& connection, const std::string& what, const std::string& a,
                const std::string& b, const std::string& columns);

/// The rows a query returns, fingerprinted: their number and the md5 of their sorted text forms, so that tables
/// in different databases can be compared.
struct RowsDigest {
  std::int64_t rows = 0;
  std::string md5;
  bool operator==(const RowsDigest&) const = default;
};

/// The digest of the rows of `select` (a SELECT statement).
RowsDigest rows_digest(pqxx::connection& connection, const std::string& select);

}  // namespace projectord::bench
