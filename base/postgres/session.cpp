#include "base/postgres/session.hpp"

#include <algorithm>
#include <pqxx/nontransaction>

namespace projectord::postgres {

void prepare_session(pqxx::connection& connection, const std::string& role) {
  pqxx::nontransaction txn(connection);
  txn.exec_params("SELECT set_config('application_name', $1, false), set_config('TimeZone', 'UTC', false)",
                  "projectord:" + role);
}

void SessionSettings::set(pqxx::connection& connection, const std::string& name, const std::string& value) {
  if (pooling_ == Pooling::session) {
    pqxx::nontransaction txn(connection);
    txn.exec_params("SELECT set_config($1, $2, false)", name, value);
    return;
  }
  const auto same = std::ranges::find(settings_, name, &std::pair<std::string, std::string>::first);
  if (same != settings_.end()) {
    same->second = value;
  } else {
    settings_.emplace_back(name, value);
  }
}

void SessionSettings::begin(pqxx::transaction_base& txn) const {
  if (pooling_ == Pooling::session || settings_.empty()) return;
  // One statement for all of them: one round trip per transaction.
  std::string sql = "SELECT";
  for (std::size_t i = 0; i < settings_.size(); ++i) {
    sql += (i == 0 ? " " : ", ") + std::string("set_config(") + txn.quote(settings_[i].first) + ", " +
           txn.quote(settings_[i].second) + ", true)";
  }
  txn.exec(sql);
}

}  // namespace projectord::postgres
