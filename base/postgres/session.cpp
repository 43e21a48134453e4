#include "base/postgres/session.hpp"

#include <pqxx/nontransaction>

namespace projectord::postgres {

void prepare_session(pqxx::connection& connection, const std::string& role) {
  pqxx::nontransaction txn(connection);
  txn.exec_params("SELECT set_config('application_name', $1, false), set_config('TimeZone', 'UTC', false)",
                  "projectord:" + role);
}

void set_synchronous_commit(pqxx::connection& connection, const std::string& level) {
  pqxx::nontransaction txn(connection);
  txn.exec_params("SELECT set_config('synchronous_commit', $1, false)", level);
}

}  // namespace projectord
