#include "handlers/sql_handler.hpp"

#include <algorithm>
#include <optional>
#include <pqxx/except>
#include <regex>
#include <stdexcept>

#include "base/postgres/pipelined_commit.hpp"
#include "base/postgres/statement_pipeline.hpp"
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

SqlHandler::SqlHandler(std::string setup, std::vector<Statement> statements)
    : setup_(std::move(setup)), statements_(std::move(statements)) {
  for (const Statement& statement : statements_) sent_.add(statement.key, statement.sql);
}

void SqlHandler::on_connect(pqxx::connection& connection, postgres::Pooling pooling) {
  sent_.prepare(connection, pooling);
}

namespace {

// What a failing statement ran for: its event and its declaration.
std::string blame(const Event& event, std::size_t statement, const std::string& on) {
  return "position " + std::to_string(event.position) + ", statement " + std::to_string(statement + 1) + " on " + on;
}

}  // namespace

// The batch's statements are bound first, then sent in one pipeline: one round trip for the batch instead of
// one per statement, in the caller's transaction and in the order of the events and of the declarations. A live
// transaction of a few events sends them with its COMMIT instead (postgres::PipelinedCommit), in the same order.
void SqlHandler::apply(pqxx::work& txn, std::span<const Event> events) {
  struct Execution {
    const Event& event;
    std::size_t statement;
    std::vector<std::optional<std::string>> values;
  };
  std::vector<Execution> executions;
  std::vector<bool> used(statements_.size(), false);
  for (const Event& event : events) {
    for (std::size_t i = 0; i < statements_.size(); ++i) {
      const Statement& statement = statements_[i];
      if (!type_matches(statement.on, event.type) || event.schema_version < statement.min_version ||
          event.schema_version > statement.max_version) {
        continue;
      }
      Execution& execution = executions.emplace_back(Execution{event, i, {}});
      for (const EventPath& path : statement.params) {
        std::optional<std::string>& value = execution.values.emplace_back(path.evaluate(event));
        // A JSON string may hold "\u0000"; libpq sends a text parameter up to its first NUL, which would store
        // the value cut short without a word.
        if (value && value->find('\0') != std::string::npos) {
          throw std::runtime_error("parameter $" + std::to_string(execution.values.size()) + " (" + path.text() +
                                   ") holds a NUL byte, which PostgreSQL text cannot store");
        }
      }
      used[i] = true;
    }
  }
  if (executions.empty()) return;
  if (auto* live = dynamic_cast<postgres::PipelinedCommit*>(&txn);
      live != nullptr && live->takes(executions.size())) {
    for (Execution& execution : executions) {
      const Statement& statement = statements_[execution.statement];
      live->on_commit(sent_[statement.key], std::move(execution.values),
                      blame(execution.event, execution.statement, statement.on));
    }
    return;
  }
  // A pipeline cannot prepare: a statement is prepared on the server before the first batch that uses it, so
  // a statement the server refuses fails only the events it is declared for.
  for (std::size_t i = 0; i < statements_.size(); ++i) {
    const postgres::Statement& sent = sent_[statements_[i].key];
    if (used[i] && sent.prepared) txn.conn().prepare_now(sent.prepared_name);
  }
  postgres::StatementPipeline pipeline(txn);
  for (const Execution& execution : executions) {
    pipeline.send(sent_[statements_[execution.statement].key], execution.values);
  }
  if (const std::optional<postgres::StatementPipeline::Failure> failure = pipeline.finish()) {
    const Execution& failed = executions[failure->index];
    const Statement& statement = statements_[failed.statement];
    throw pqxx::sql_error(postgres::blamed(failure->message, blame(failed.event, failed.statement, statement.on)),
                          statement.sql, failure->sqlstate.empty() ? nullptr : failure->sqlstate.c_str());
  }
}

}  // namespace projectord::handlers
