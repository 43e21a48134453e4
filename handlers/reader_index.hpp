#pragma once
/// Indexes that only serve a read model's readers (ProjectionHandler::reader_indexes), and their creation.
/// A table that Django's migrations created already has such indexes under Django's hashed names, so an
/// index is created only where the table has no plain index on the same columns: a second one would double
/// what every write to those columns costs and serve no reader.
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace projectord::handlers {

struct ReaderIndex {
  std::string table;                 ///< as configured (schema-qualified or not), unquoted
  std::string name;                  ///< ours: unique and stable, in the table's schema
  std::vector<std::string> columns;  ///< key columns in order, unquoted
};

/// A b-tree index on `table` (columns in order) unless it has one on the same key columns already, with no
/// predicate, no expression and default operator classes (Django's varchar_pattern_ops "_like" indexes serve
/// LIKE, not ordering, so they do not count). Returns whether it created one.
bool create_reader_index(pqxx::transaction_base& txn, const ReaderIndex& index);

}  // namespace projectord::handlers
