#pragma once
/// The row-by-row comparison of a live read-model table with a copy rebuilt from the events, both read in the
/// caller's transaction, over the rebuilt table's columns less the `ignored` ones (a handler's bookkeeping
/// columns: a surrogate id, a time of writing), values compared as jsonb. Rows are paired by a key of the
/// rebuilt table: its primary key, else its narrowest unique index, whose columns are all NOT NULL and
/// compared. A rebuilt row with no live row is missing, a live row with no rebuilt row is extra, a pair whose
/// values differ differs. A table with no such key is compared as a multiset of rows: missing and extra only.
#include <cstddef>
#include <cstdint>
#include <pqxx/transaction_base>
#include <set>
#include <string>
#include <vector>

namespace projectord::cli {

struct RowDifference {
  enum class Kind { missing, extra, differs };
  Kind kind;
  std::string key;      ///< the row's primary key as a JSON object, or the whole row without one
  std::string live;     ///< the live row as a JSON object; empty when missing
  std::string rebuilt;  ///< the rebuilt row as a JSON object; empty when extra
};

struct TableDiff {
  std::int64_t live_rows = 0;
  std::int64_t rebuilt_rows = 0;
  std::int64_t missing = 0;
  std::int64_t extra = 0;
  std::int64_t differing = 0;
  std::vector<RowDifference> first;  ///< the first differences in key order, at most the number asked for
  std::vector<std::string> key;      ///< the columns rows were paired by; empty: compared as a multiset
  bool equal() const { return missing == 0 && extra == 0 && differing == 0; }
  /// The key's columns, comma-separated, or "their values".
  std::string paired_by() const;
};

/// Compares `live` with `rebuilt`, each a quoted, schema-qualified table name; `rebuilt_oid` names the
/// rebuilt table in the catalog (its columns and keys).
TableDiff diff_table(pqxx::transaction_base& txn, const std::string& live, const std::string& rebuilt,
                     std::int64_t rebuilt_oid, const std::set<std::string>& ignored, std::size_t shown);

}  // namespace projectord::cli
