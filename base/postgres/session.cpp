#include "base/postgres/session.hpp"

#include <algorithm>
#include <pqxx/nontransaction>

namespace projectord::postgres {

void prepare_session(pqxx::connection& connection, const std::string& role) {
  pqxx::nontransaction txn(connection);
  txn.exec_params("SELECT set_config('application_name', $1, false), set_config('TimeZone', 'UTC', false)",
                  "projectord:" + role);
}

namespace {

// One statement for all of them: one round trip. `local`: for the transaction only.
void set_all(pqxx::transaction_base& txn, const std::vector<std::pair<std::string, std::string>>& settings,
             bool local) {
  if (settings.empty()) return;
  std::string sql = "SELECT";
  for (std::size_t i = 0; i < settings.size(); ++i) {
    sql += (i == 0 ? " " : ", ") + std::string("set_config(") + txn.quote(settings[i].first) + ", " +
           txn.quote(settings[i].second) + (local ? ", true)" : ", false)");
  }
  txn.exec(sql);
}

}  // namespace

void SessionSettings::set(pqxx::connection& connection, const std::string& name, const std::string& value) {
  const auto same = std::ranges::find(settings_, name, &std::pair<std::string, std::string>::first);
  if (same != settings_.end()) {
    same->second = value;
  } else {
    settings_.emplace_back(name, value);
  }
  if (pooling_ == Pooling::session) {
    pqxx::nontransaction txn(connection);
    set_all(txn, {{name, value}}, false);
  }
}

void SessionSettings::apply(pqxx::connection& connection) const {
  if (pooling_ != Pooling::session) return;
  pqxx::nontransaction txn(connection);
  set_all(txn, settings_, false);
}

void SessionSettings::begin(pqxx::transaction_base& txn) const {
  if (pooling_ == Pooling::session) return;
  set_all(txn, settings_, true);
}

}  // namespace projectord::postgres
