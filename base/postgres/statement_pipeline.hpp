#pragma once
/// Statements sent on an open transaction's connection without waiting for each one's answer
/// (libpq's pipeline mode): n statements cost one round trip instead of n, and run inside that transaction,
/// in the order sent. libpqxx 6.4 has no such call, so this drives its connection's libpq handle directly.
///
/// Contract: construct it on a pqxx::dbtransaction whose server transaction is open, and whose statements sent
/// by name (Statement::prepared) are prepared on the server (connection_base::prepare_now); `send` each execution, then `finish` once: it reads
/// every answer and says which statement failed first, if one did; the server skips the rest (they are never
/// run) and the transaction is left aborted, so the caller must throw and let it roll back. A connection lost
/// on the way is thrown as pqxx::broken_connection. Before it returns, `finish` (or, when `send` threw, the
/// destructor) has read every answer and left pipeline mode, so libpqxx can use the connection again. One
/// pipeline per connection at a time; libpqxx must not use the connection while one is alive.
#include <libpq-fe.h>

#include <cstddef>
#include <optional>
#include <pqxx/dbtransaction>
#include <span>
#include <string>
#include <vector>

#include "base/postgres/statement_set.hpp"

namespace projectord::postgres {

/// `message` with ` (blame)` (what the failed statement ran for, such as an event's position) at the end of its
/// first line, the server's primary message: logs and dead letters keep that line, the DETAIL lines follow.
std::string blamed(std::string message, const std::string& blame);

class StatementPipeline {
 public:
  /// The first statement that failed: its index in the order sent, and the server's error as libpqxx reports
  /// it (the message with its DETAIL lines; SQLSTATE, empty for an error of the client's own).
  struct Failure {
    std::size_t index;
    std::string message;
    std::string sqlstate;
  };

  explicit StatementPipeline(pqxx::dbtransaction& txn);
  ~StatementPipeline();
  StatementPipeline(const StatementPipeline&) = delete;
  StatementPipeline& operator=(const StatementPipeline&) = delete;

  /// Queues one execution of `statement`, by its name or as its text; an empty value is SQL NULL. A value
  /// holding a NUL byte is thrown as pqxx::data_exception (SQLSTATE 22021, as the server refuses it in COPY data).
  void send(const Statement& statement, std::span<const std::optional<std::string>> values);

  /// Sends what is queued and reads every answer: the first failure, or none when every statement succeeded.
  std::optional<Failure> finish();

 private:
  // sending: statements go out; synced: the sync went out and its answer is still to be read; drained: every
  // answer has been read.
  enum class Stage { sending, synced, drained };

  PGconn* connection_;
  Stage stage_ = Stage::sending;
  std::size_t sent_ = 0;
  std::vector<const char*> pointers_;  ///< the values of the statement being sent, as libpq takes them
};

}  // namespace projectord::postgres
