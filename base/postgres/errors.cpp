#include "base/postgres/errors.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <pqxx/except>
#include <string_view>

namespace projectord::postgres {

namespace {

constexpr std::string_view kSqlstateMark = " (SQLSTATE ";
constexpr std::size_t kSqlstateLength = 5;

const pqxx::sql_error* as_sql_error(const std::exception& error) {
  return dynamic_cast<const pqxx::sql_error*>(&error);
}

// libpqxx 6.4 throws insufficient_privilege without its SQLSTATE; its type says it.
std::string sqlstate_of(const std::exception& error) {
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&error) != nullptr) return "42501";
  const auto* sql = as_sql_error(error);
  return sql == nullptr ? std::string() : sql->sqlstate();
}

// A name from a server message as SQL spells it: plain names stay, others (and quoted ones) are quoted.
std::string as_sql_name(std::string_view name) {
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  const bool plain = !name.empty() && (std::islower(static_cast<unsigned char>(name.front())) || name.front() == '_') &&
                     std::ranges::all_of(name, [](char c) {
                       return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                              c == '_' || c == '$';
                     });
  if (plain) return std::string(name);
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// The statement that gives what a 42501 message says is missing, or empty for a message of another shape.
// The server's wording: "permission denied for <kind> <name>", "must be owner of <kind> <name>",
// "permission denied to create temporary tables in database "<name>"".
std::string grant_for(std::string_view message, const std::string& role) {
  struct Shape {
    std::string_view prefix;
    std::string_view before_name;
    std::string_view after_name;
  };
  static constexpr std::array kShapes{
      Shape{"permission denied for table ", "GRANT SELECT, INSERT, UPDATE, DELETE ON ", ""},
      Shape{"permission denied for view ", "GRANT SELECT ON ", ""},
      Shape{"permission denied for sequence ", "GRANT USAGE ON SEQUENCE ", ""},
      Shape{"permission denied for schema ", "GRANT USAGE ON SCHEMA ", ""},
      Shape{"permission denied for database ", "GRANT CREATE ON DATABASE ", ""},
      Shape{"permission denied for function ", "GRANT EXECUTE ON FUNCTION ", ""},
      Shape{"permission denied to create temporary tables in database ", "GRANT TEMPORARY ON DATABASE ", ""},
      Shape{"must be owner of table ", "ALTER TABLE ", " OWNER"},
  };
  for (const Shape& shape : kShapes) {
    if (!message.starts_with(shape.prefix)) continue;
    std::string_view name = message.substr(shape.prefix.size());
    name = name.substr(0, name.find_first_of("\n "));
    if (name.empty()) return {};
    const std::string to = shape.after_name.empty() ? " TO " : std::string(shape.after_name) + " TO ";
    return std::string(shape.before_name) + as_sql_name(name) + to + as_sql_name(role);
  }
  return {};
}

}  // namespace

bool is_transient(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) return true;
  if (const auto* sql = as_sql_error(error)) {
    const std::string& state = sql->sqlstate();
    return state.starts_with("08") || state.starts_with("57P") || state.starts_with("53") || state == "40001" ||
           state == "40P01" || state == "55P03";  // 55P03: a lock timeout (the rebuild swap's)
  }
  return false;
}

bool is_setup_problem(const std::exception& error) {
  const std::string state = sqlstate_of(error);
  return state == "42501" || state == "42P01" || state == "3F000";
}

std::string setup_hint(const std::exception& error, const std::string& role) {
  std::string message = one_line(error.what());
  if (message.starts_with("ERROR:")) message.erase(0, message.find_first_not_of(' ', 6));
  const std::string listed = "`projectord migrate --print-grants " + role + "` lists";
  if (sqlstate_of(error) != "42501") {
    return message + ": run `projectord migrate` as the owner (it creates what is missing), then the grants " +
           listed;
  }
  const std::string grant = grant_for(message, role);
  if (grant.empty()) return message + ": run as the owner the grants " + listed;
  return message + ": run as the owner: " + grant + " (" + listed + " every grant the daemon needs)";
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
  if (const std::string state = sqlstate_of(error); !state.empty()) text += std::string(kSqlstateMark) + state + ")";
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
  if (sqlstate == "42501") return "insufficient_privilege";
  if (sqlstate.starts_with("42")) return "syntax_or_access";
  return "database";
}

}  // namespace projectord::postgres
