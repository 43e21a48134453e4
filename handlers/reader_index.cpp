#include "handlers/reader_index.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include "base/postgres/identifier.hpp"

namespace projectord::handlers {

namespace {

// The table's valid b-tree indexes whose key columns are $2 (a JSON array of names), in order, with nothing
// that would keep them from serving the same queries: a predicate, an expression, a non-default operator class.
constexpr const char* kEquivalentIndex =
    "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam"
    " WHERE i.indrelid = to_regclass($1) AND am.amname = 'btree' AND i.indisvalid AND i.indpred IS NULL"
    " AND i.indexprs IS NULL"
    " AND (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)"
    "      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
    "      WHERE k.ord <= i.indnkeyatts) = $2::jsonb"
    " AND NOT EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) AS k(opclass)"
    "                 JOIN pg_opclass o ON o.oid = k.opclass WHERE NOT o.opcdefault)";

}  // namespace

bool create_reader_index(pqxx::transaction_base& txn, const ReaderIndex& index) {
  const std::string table = postgres::quote_identifier(index.table);
  const std::string names = boost::json::serialize(boost::json::value_from(index.columns));
  if (txn.exec_params1(kEquivalentIndex, table, names)[0].as<std::int64_t>() > 0) return false;
  std::string columns;
  for (const std::string& column : index.columns) {
    if (!columns.empty()) columns += ", ";
    columns += postgres::quote_identifier(column);
  }
  // The name only needs to be unique in the table's schema; CREATE INDEX puts it there.
  txn.exec("CREATE INDEX IF NOT EXISTS " + postgres::quote_identifier(index.name) + " ON " + table + " (" + columns +
           ")");
  return true;
}

}  // namespace projectord::handlers
