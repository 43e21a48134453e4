#include "base/postgres/errors.hpp"

#include <algorithm>
#include <pqxx/except>

namespace projectord::postgres {

namespace {

constexpr std::string_view kSqlstateMark = " (SQLSTATE ";
constexpr std::size_t kSqlstateLength = 5;

}  // namespace

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
  // The server's DETAIL quotes the row ("Key (email)=(alice@example.com) already exists"): event data, which
  // logs, /status and dead letters must not carry. The primary message, HINT and CONTEXT name objects.
  std::string kept;
  std::string_view rest = message;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (line.starts_with("DETAIL:")) continue;
    if (!kept.empty()) kept += ' ';
    kept += line;
  }
  while (!kept.empty() && kept.back() == ' ') kept.pop_back();
  return kept;
}

std::string error_text(const std::exception& error) {
  std::string text = one_line(error.what());
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error); sql != nullptr && !sql->sqlstate().empty()) {
    text += std::string(kSqlstateMark) + sql->sqlstate() + ")";
  }
  return text;
}

std::string_view sqlstate_in(std::string_view text) {
  const std::size_t at = text.rfind(kSqlstateMark);
  if (at == std::string_view::npos) return {};
  const std::string_view state = text.substr(at + kSqlstateMark.size(), kSqlstateLength);
  const bool well_formed = state.size() == kSqlstateLength &&
                           std::ranges::all_of(state, [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }) &&
                           text.substr(at + kSqlstateMark.size() + kSqlstateLength).starts_with(')');
  return well_formed ? state : std::string_view{};
}

std::string_view sqlstate_class(std::string_view sqlstate) {
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P")) return "connection";
  if (sqlstate == "57014" || sqlstate == "55P03") return "timeout";  // statement_timeout, lock_timeout
  if (sqlstate.starts_with("40")) return "conflict";                  // serialization failure, deadlock
  if (sqlstate.starts_with("53")) return "resources";
  if (sqlstate == "23505") return "unique_violation";
  if (sqlstate == "23503") return "foreign_key_violation";
  if (sqlstate == "23502") return "not_null_violation";
  if (sqlstate == "23514") return "check_violation";
  if (sqlstate.starts_with("23")) return "constraint_violation";
  if (sqlstate.starts_with("22")) return "data_exception";
  if (sqlstate.starts_with("42")) return "syntax_or_access";
  return "database";
}

}  // namespace projectord::postgres
