#include "handlers/sql_handler.hpp"

#include <optional>
#include <regex>
#include <stdexcept>

#include "handlers/event_types.hpp"

namespace projectord::handlers {

Result<std::unique_ptr<ProjectionHandler>> SqlHandler::make(const config::Handler& handler) {
  if (handler.statements.empty()) return fail("handler " + handler.name + ": a sql handler needs statements");
  std::vector<Statement> statements;
  for (std::size_t i = 0; i < handler.statements.size(); ++i) {
    const config::SqlStatement& declared = handler.statements[i];
    Statement statement{declared.on, declared.min_version, declared.max_version, "projectord_" + handler.name + "_" + std::to_string(i), declared.sql, {}};
    for (const std::string& text : declared.params) {
      auto path = EventPath::parse(text);
      if (!path) {
        return fail("handler " + handler.name + " statement on " + declared.on + " (line " +
                    std::to_string(declared.line) + "): " + path.error());
      }
      statement.params.push_back(std::move(*path));
    }
    statements.push_back(std::move(statement));
  }
  return std::unique_ptr<ProjectionHandler>(new SqlHandler(handler.setup, std::move(statements)));
}

namespace {

// The table a setup creates first: `CREATE [UNLOGGED] TABLE [IF NOT EXISTS] name` at its start, the name as
// written (quoted or not, schema-qualified or not). The whole setup counts as that table's: once the table
// exists, what else the setup creates is `projectord migrate`'s to add. Empty when the setup starts otherwise.
std::string created_table(const std::string& setup) {
  static const std::regex kCreateTable(
      R"(^\s*create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?)"
      R"(((?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)(?:\.(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*))?))",
      std::regex::icase);
  std::smatch match;
  if (!std::regex_search(setup, match, kCreateTable)) return {};
  return match[1].str();
}

}  // namespace

std::vector<SetupStatement> SqlHandler::setup_sql() const {
  if (setup_.empty()) return {};
  return {{created_table(setup_), setup_}};
}

void SqlHandler::on_connect(pqxx::connection& connection) {
  for (const Statement& statement : statements_) connection.prepare(statement.prepared_name, statement.sql);
}

void SqlHandler::apply(pqxx::work& txn, std::span<const Event> events) {
  std::vector<std::optional<std::string>> values;
  for (const Event& event : events) {
    for (const Statement& statement : statements_) {
      if (!type_matches(statement.on, event.type) || event.schema_version < statement.min_version ||
          event.schema_version > statement.max_version) {
        continue;
      }
      values.clear();
      for (const EventPath& path : statement.params) {
        values.push_back(path.evaluate(event));
        // A JSON string may hold "\u0000"; libpq sends a text parameter up to its first NUL, which would store
        // the value cut short without a word.
        if (values.back() && values.back()->find('\0') != std::string::npos) {
          throw std::runtime_error("parameter $" + std::to_string(values.size()) + " (" + path.text() +
                                   ") holds a NUL byte, which PostgreSQL text cannot store");
        }
      }
      txn.exec_prepared(statement.prepared_name, pqxx::prepare::make_dynamic_params(values));
    }
  }
}

}  // namespace projectord::handlers
