#pragma once
/// The statements a component sends again and again (a checkpoint's move, a handler's insert), by name. On a
/// session connection `prepare` has the server plan each once and later executions send the name only; behind
/// a transaction pooler a prepared statement would live on one server session of the pool and be missing from
/// the next, so each execution sends the statement's text, unnamed (the extended protocol's unnamed statement,
/// which lives for one execution).
///
/// A statement is prepared under a name made of its text (`prepared_name`), not of the name it is added under:
/// connections move between lanes (base/postgres/connection_pool.hpp), and libpqxx refuses to prepare a name
/// again with another text, so two lanes' statements of one name and different texts (two handlers' inserts
/// into their own tables) must not share a name on a connection, while the same text may stay prepared.
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

/// One statement as it is sent: by `prepared_name` when it is prepared on the connection, else as its `sql`.
struct Statement {
  std::string name;
  std::string sql;
  std::string prepared_name;
  bool prepared = false;
};

/// The name a statement of text `sql` is prepared under: the same for the same text in every component.
std::string prepared_name(std::string_view sql);

class StatementSet {
 public:
  void add(std::string name, std::string sql);

  /// Prepares every statement on `connection` when it is a session's; behind a transaction pooler, nothing.
  void prepare(pqxx::connection& connection, Pooling pooling);

  const Statement& operator[](std::string_view name) const;

  template <class... Args>
  pqxx::result exec(pqxx::transaction_base& txn, std::string_view name, Args&&... args) const {
    const Statement& statement = (*this)[name];
    return statement.prepared ? txn.exec_prepared(statement.prepared_name, std::forward<Args>(args)...)
                              : txn.exec_params(statement.sql, std::forward<Args>(args)...);
  }

 private:
  std::vector<Statement> statements_;
};

}  // namespace projectord::postgres
