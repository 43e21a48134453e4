#pragma once
/// The statements a component sends again and again (a checkpoint's move, a handler's insert), by name. On a
/// session connection `prepare` has the server plan each once and later executions send the name only; behind
/// a transaction pooler a prepared statement would live on one server session of the pool and be missing from
/// the next, so each execution sends the statement's text, unnamed (the extended protocol's unnamed statement,
/// which lives for one execution).
///
/// Contract: `add` every statement, then `prepare` once per connection, before the first execution on it;
/// `exec` and `operator[]` name a statement that was added (any other name is a programming error, thrown as
/// std::logic_error).
#include <pqxx/connection>
#include <pqxx/result>
#include <pqxx/transaction_base>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/postgres/pooling.hpp"

namespace projectord::postgres {

/// One statement as it is sent: by `name` when it is prepared on the connection, else as its `sql`.
struct Statement {
  std::string name;
  std::string sql;
  bool prepared = false;
};

class StatementSet {
 public:
  void add(std::string name, std::string sql);

  /// Prepares every statement on `connection` when it is a session's; behind a transaction pooler, nothing.
  void prepare(pqxx::connection& connection, Pooling pooling);

  const Statement& operator[](std::string_view name) const;

  template <class... Args>
  pqxx::result exec(pqxx::transaction_base& txn, std::string_view name, Args&&... args) const {
    const Statement& statement = (*this)[name];
    return statement.prepared ? txn.exec_prepared(statement.name, std::forward<Args>(args)...)
                              : txn.exec_params(statement.sql, std::forward<Args>(args)...);
  }

 private:
  std::vector<Statement> statements_;
};

}  // namespace projectord::postgres
