#include "tests/faults/reference_models.hpp"

#include <pqxx/pqxx>

#include "bench/support/read_models.hpp"
#include "bench/support/store.hpp"

namespace projectord::testing::faults {

namespace {

ModelDifferences differences(pqxx::connection& connection, const std::string& model, const std::string& reference,
                             const std::string& columns) {
  const std::string select_model = "SELECT " + columns + " FROM " + model;
  const std::string select_reference = "SELECT " + columns + " FROM " + reference;
  const std::string missing = "(" + select_reference + " EXCEPT ALL " + select_model + ")";
  const std::string extra = "(" + select_model + " EXCEPT ALL " + select_reference + ")";
  ModelDifferences found;
  found.missing = bench::query_int(connection, "SELECT count(*) FROM " + missing + " d");
  found.extra = bench::query_int(connection, "SELECT count(*) FROM " + extra + " d");
  pqxx::nontransaction txn(connection);
  for (const auto& [side, rows] : {std::pair{"missing from " + model, missing}, {"extra in " + model, extra}}) {
    for (const auto& row : txn.exec("SELECT row_to_json(d)::text FROM " + rows + " d LIMIT 3")) {
      found.sample += side + ": " + row[0].as<std::string>() + "\n";
    }
  }
  return found;
}

}  // namespace

ReferenceComparison compare_with_reference(pqxx::connection& connection, std::int64_t head,
                                           const std::string& users_table, const std::string& log_table) {
  bench::create_like(connection, "reference_users", users_table);
  bench::create_like(connection, "reference_log", log_table);
  bench::run_set_based(connection, "reference_users", "reference_log", head);
  return {differences(connection, users_table, "reference_users", bench::kUserColumns),
          differences(connection, log_table, "reference_log", bench::kLogColumns)};
}

}  // namespace projectord::testing::faults
