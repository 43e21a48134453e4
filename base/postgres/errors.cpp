#include "base/postgres/errors.hpp"

#include <algorithm>
#include <pqxx/except>

namespace projectord::postgres {

bool is_transient(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    const std::string& state = sql->sqlstate();
    return state.starts_with("08") || state.starts_with("57P") || state.starts_with("53") || state == "40001" ||
           state == "40P01" || state == "55P03";  // 55P03: a lock timeout (the rebuild swap's)
  }
  return false;
}

std::string one_line(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

}  // namespace projectord::postgres
