#include "bench/support/read_models.hpp"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "bench/support/reference_sql.hpp"
#include "bench/support/store.hpp"
#include "handlers/django_tables.hpp"

namespace projectord::bench {

void create_like(pqxx::connection& connection, const std::string& copy, const std::string& original) {
  pqxx::work txn(connection);
  txn.exec("CREATE TABLE " + copy + " (LIKE " + original + " INCLUDING ALL)");
  txn.commit();
}

void copy_table(pqxx::connection& connection, const std::string& copy, const std::string& original) {
  pqxx::work txn(connection);
  txn.exec("CREATE TABLE " + copy + " AS TABLE " + original);
  txn.commit();
}

void add_reader_indexes(pqxx::transaction_base& txn, const std::string& users, const std::string& event_log) {
  for (const auto& index : handlers::user_projection_reader_indexes(users)) handlers::create_reader_index(txn, index);
  if (event_log.empty()) return;
  for (const auto& index : handlers::user_event_log_reader_indexes(event_log)) handlers::create_reader_index(txn, index);
}

void run_set_based(pqxx::connection& connection, const std::string& users, const std::string& event_log,
                   std::int64_t last_id) {
  const std::string application(kApplication);
  pqxx::work txn(connection);
  if (!event_log.empty()) txn.exec_params(insert_event_log_sql(event_log), application, last_id);
  txn.exec_params(insert_users_sql(users), application, last_id);
  add_reader_indexes(txn, users, event_log);
  txn.commit();
}

std::int64_t differing_rows(pqxx::connection& connection, const std::string& a, const std::string& b,
                            const std::string& columns) {
  const std::string select_a = "SELECT " + columns + " FROM " + a;
  const std::string select_b = "SELECT " + columns + " FROM " + b;
  return query_int(connection, "SELECT count(*) FROM ((" + select_a + " EXCEPT ALL " + select_b + ") UNION ALL (" +
                                   select_b + " EXCEPT ALL " + select_a + ")) d");
}

void check_same(Checks& checks, pqxx::connection& connection, const std::string& what, const std::string& a,
                const std::string& b, const std::string& columns) {
  const std::int64_t rows_a = query_int(connection, "SELECT count(*) FROM " + a);
  const std::int64_t rows_b = query_int(connection, "SELECT count(*) FROM " + b);
  const std::int64_t differing = differing_rows(connection, a, b, columns);
  checks.expect(differing == 0 && rows_a > 0, what,
                a + " " + std::to_string(rows_a) + " rows, " + b + " " + std::to_string(rows_b) + " rows, " +
                    std::to_string(differing) + " rows differ");
}

RowsDigest rows_digest(pqxx::connection& connection, const std::string& select) {
  pqxx::nontransaction txn(connection);
  const pqxx::row row =
      txn.exec1("SELECT count(*), coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') FROM (" + select + ") r");
  return {row[0].as<std::int64_t>(), row[1].c_str()};
}

}  // namespace projectord::bench
