#pragma once
/// The declarative projection: per event type (and schema version, when a statement names one),
/// parameterised statements from config. Parameters are
/// event paths bound as query parameters; event data never becomes part of the SQL text. A batch's statements
/// reach the server in one pipeline on the caller's transaction (base/postgres/statement_pipeline.hpp), in the
/// order of the events and of the declarations; a failing one is thrown as a pqxx::sql_error with the server's
/// SQLSTATE, its first line naming the event's position and the statement.
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "base/postgres/statement_set.hpp"
#include "base/result.hpp"
#include "handlers/event_path.hpp"
#include "handlers/projection_handler.hpp"

namespace projectord::handlers {

class SqlHandler final : public ProjectionHandler {
 public:
  static Result<std::unique_ptr<ProjectionHandler>> make(const config::Handler& handler);

  std::vector<SetupStatement> setup_sql() const override;
  void on_connect(pqxx::connection& connection, postgres::Pooling pooling) override;
  void apply(pqxx::work& txn, std::span<const Event> events) override;

 private:
  struct Statement {
    std::string on;
    std::int64_t min_version;
    std::int64_t max_version;
    std::string key;  ///< its name in sent_
    std::string sql;
    std::vector<EventPath> params;
  };
  SqlHandler(std::string setup, std::vector<Statement> statements);

  std::string setup_;
  std::vector<Statement> statements_;
  postgres::StatementSet sent_;  ///< statements_, by key

};

}  // namespace projectord::handlers
