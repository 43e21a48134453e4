#include "base/postgres/statement_set.hpp"

#include <algorithm>
#include <stdexcept>

namespace projectord::postgres {

void StatementSet::add(std::string name, std::string sql) {
  statements_.push_back({std::move(name), std::move(sql), false});
}

void StatementSet::prepare(pqxx::connection& connection, Pooling pooling) {
  for (Statement& statement : statements_) {
    statement.prepared = pooling == Pooling::session;
    if (statement.prepared) connection.prepare(statement.name, statement.sql);
  }
}

const Statement& StatementSet::operator[](std::string_view name) const {
  const auto found = std::ranges::find(statements_, name, &Statement::name);
  if (found == statements_.end()) throw std::logic_error("no statement named " + std::string(name));
  return *found;
}

}  // namespace projectord::postgres
