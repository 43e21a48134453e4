#include "daemon/cli/table_diff.hpp"

#include <algorithm>
#include <map>
#include <pqxx/result>

namespace projectord::cli {

namespace {

std::vector<std::string> names(const pqxx::result& rows) {
  std::vector<std::string> found;
  for (const auto& row : rows) found.push_back(row[0].as<std::string>());
  return found;
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string text;
  for (const std::string& part : parts) text += (text.empty() ? "" : separator) + part;
  return text;
}

// A function takes at most 100 arguments: jsonb_build_object of 50 columns at a time.
constexpr std::size_t kColumnsPerCall = 50;

// jsonb_build_object('c1', ALIAS.c1, ...) || ...: the columns of a row as one comparable value.
std::string as_object(pqxx::transaction_base& txn, const std::vector<std::string>& columns, const std::string& alias) {
  std::vector<std::string> calls;
  for (std::size_t first = 0; first < columns.size(); first += kColumnsPerCall) {
    std::vector<std::string> pairs;
    for (std::size_t i = first; i < std::min(columns.size(), first + kColumnsPerCall); ++i) {
      pairs.push_back(txn.quote(columns[i]) + ", " + alias + "." + txn.quote_name(columns[i]));
    }
    calls.push_back("jsonb_build_object(" + joined(pairs, ", ") + ")");
  }
  return "(" + joined(calls, " || ") + ")";
}

RowDifference::Kind kind_of(const pqxx::row& row) {
  if (row[1].is_null()) return RowDifference::Kind::missing;
  if (row[2].is_null()) return RowDifference::Kind::extra;
  return RowDifference::Kind::differs;
}

TableDiff keyed_diff(pqxx::transaction_base& txn, const std::string& live, const std::string& rebuilt,
                     const std::vector<std::string>& columns, const std::vector<std::string>& key, std::size_t shown) {
  std::vector<std::string> join_on, key_pairs, order;
  for (const std::string& column : key) {
    const std::string name = txn.quote_name(column);
    join_on.push_back("l." + name + " = r." + name);
    key_pairs.push_back(txn.quote(column) + ", coalesce(l." + name + ", r." + name + ")");
    order.push_back("coalesce(l." + name + ", r." + name + ")");
  }
  // A row of the join whose sides are absent or unequal: (key, live row, rebuilt row) as jsonb.
  const std::string pairs = "SELECT jsonb_build_object(" + joined(key_pairs, ", ") + ") AS key," +
                            " CASE WHEN l.ctid IS NULL THEN NULL ELSE " + as_object(txn, columns, "l") + " END AS live," +
                            " CASE WHEN r.ctid IS NULL THEN NULL ELSE " + as_object(txn, columns, "r") + " END AS rebuilt" +
                            " FROM " + live + " l FULL JOIN " + rebuilt + " r ON " + joined(join_on, " AND ");
  const std::string unequal = " WHERE l.ctid IS NULL OR r.ctid IS NULL OR " + as_object(txn, columns, "l") +
                              " <> " + as_object(txn, columns, "r");
  TableDiff diff;
  const pqxx::row counts = txn.exec1(
      "SELECT (SELECT count(*) FROM " + live + "), (SELECT count(*) FROM " + rebuilt + ")," +
      " count(*) FILTER (WHERE d.live IS NULL), count(*) FILTER (WHERE d.rebuilt IS NULL)," +
      " count(*) FILTER (WHERE d.live IS NOT NULL AND d.rebuilt IS NOT NULL) FROM (" + pairs + unequal + ") d");
  diff.live_rows = counts[0].as<std::int64_t>();
  diff.rebuilt_rows = counts[1].as<std::int64_t>();
  diff.missing = counts[2].as<std::int64_t>();
  diff.extra = counts[3].as<std::int64_t>();
  diff.differing = counts[4].as<std::int64_t>();
  for (const auto& row : txn.exec(pairs + unequal + " ORDER BY " + joined(order, ", ") + " LIMIT " +
                                  std::to_string(shown))) {
    diff.first.push_back({kind_of(row), row[0].as<std::string>(), row[1].is_null() ? "" : row[1].as<std::string>(),
                          row[2].is_null() ? "" : row[2].as<std::string>()});
  }
  return diff;
}

// Without a key, rows pair up by equal values: what one side holds more often than the other differs.
TableDiff multiset_diff(pqxx::transaction_base& txn, const std::string& live, const std::string& rebuilt,
                        const std::vector<std::string>& columns, std::size_t shown) {
  const std::string live_rows = "SELECT " + as_object(txn, columns, "l") + " AS v FROM " + live + " l";
  const std::string rebuilt_rows = "SELECT " + as_object(txn, columns, "r") + " AS v FROM " + rebuilt + " r";
  const std::string differences = "(SELECT v, true AS missing FROM (" + rebuilt_rows + " EXCEPT ALL " + live_rows +
                                  ") m UNION ALL SELECT v, false FROM (" + live_rows + " EXCEPT ALL " +
                                  rebuilt_rows + ") e) d";
  TableDiff diff;
  const pqxx::row counts = txn.exec1("SELECT (SELECT count(*) FROM " + live + "), (SELECT count(*) FROM " + rebuilt +
                                     "), count(*) FILTER (WHERE missing), count(*) FILTER (WHERE NOT missing) FROM " +
                                     differences);
  diff.live_rows = counts[0].as<std::int64_t>();
  diff.rebuilt_rows = counts[1].as<std::int64_t>();
  diff.missing = counts[2].as<std::int64_t>();
  diff.extra = counts[3].as<std::int64_t>();
  for (const auto& row : txn.exec("SELECT v::text, missing FROM " + differences + " ORDER BY v LIMIT " +
                                  std::to_string(shown))) {
    const bool missing = row[1].as<bool>();
    const std::string text = row[0].as<std::string>();
    diff.first.push_back({missing ? RowDifference::Kind::missing : RowDifference::Kind::extra, text,
                          missing ? "" : text, missing ? text : ""});
  }
  return diff;
}

}  // namespace

std::string TableDiff::paired_by() const { return key.empty() ? "their values" : joined(key, ", "); }

TableDiff diff_table(pqxx::transaction_base& txn, const std::string& live, const std::string& rebuilt,
                     std::int64_t rebuilt_oid, const std::set<std::string>& ignored, std::size_t shown) {
  std::vector<std::string> columns;
  for (const std::string& column : names(txn.exec_params(
           "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped"
           " ORDER BY attnum",
           rebuilt_oid))) {
    if (!ignored.contains(column)) columns.push_back(column);
  }
  // The key: the primary key, else the narrowest unique index, of NOT NULL columns that are all compared.
  std::map<std::int64_t, std::vector<std::string>> candidates;
  std::set<std::int64_t> unusable;
  std::vector<std::int64_t> order;
  for (const auto& row : txn.exec_params(
           "SELECT i.indexrelid::bigint, a.attname::text, a.attnotnull FROM pg_index i"
           " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
           " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
           " WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL"
           " ORDER BY i.indisprimary DESC, i.indnatts, i.indexrelid::regclass::text, k.n",
           rebuilt_oid)) {
    const auto index = row[0].as<std::int64_t>();
    const auto column = row[1].as<std::string>();
    if (!candidates.contains(index)) order.push_back(index);
    candidates[index].push_back(column);
    if (!row[2].as<bool>() || ignored.contains(column)) unusable.insert(index);
  }
  for (const std::int64_t index : order) {
    if (unusable.contains(index)) continue;
    TableDiff diff = keyed_diff(txn, live, rebuilt, columns, candidates[index], shown);
    diff.key = candidates[index];
    return diff;
  }
  return multiset_diff(txn, live, rebuilt, columns, shown);
}

}  // namespace projectord::cli
