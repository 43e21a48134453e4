#include "handlers/setup.hpp"

namespace projectord::handlers {

namespace {

// to_regclass alone would find an unqualified name anywhere on the search_path: the live table of a rebuild
// whose shadow has none yet. A NULL current schema (none on the path exists) counts as missing: CREATE then
// says why it cannot create the table.
constexpr const char* kMissing =
    "SELECT CASE WHEN cardinality(parse_ident($1)) = 1"
    " THEN to_regclass(quote_ident(current_schema()) || '.' || quote_ident((parse_ident($1))[1]))"
    " ELSE to_regclass($1) END IS NULL";

}  // namespace

std::size_t create_missing(pqxx::transaction_base& txn, const std::vector<SetupStatement>& statements) {
  std::size_t ran = 0;
  for (const SetupStatement& statement : statements) {
    if (!statement.creates.empty() && !txn.exec_params1(kMissing, statement.creates)[0].as<bool>()) continue;
    txn.exec(statement.sql);
    ++ran;
  }
  return ran;
}

}  // namespace projectord::handlers
