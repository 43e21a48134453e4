#pragma once
/// A write transaction whose COMMIT carries statements queued for it: the statements given to `on_commit`
/// (base/postgres/statement_set.hpp) go out together with the COMMIT, in one round trip (libpq's pipeline mode, StatementPipeline),
/// so a statement that belongs at the end of every transaction (a checkpoint's move) costs no round trip of
/// its own.
///
/// Contract: a queued statement sent by name is prepared on the connection (StatementSet::prepare) before its
/// transaction commits. `commit` runs the queued statements
/// in order, then the COMMIT. When one of them fails the COMMIT never runs: the transaction is rolled back and
/// `commit` throws FailedBeforeCommit, with the server's SQLSTATE, so a statement that must hold for the
/// transaction to commit fails on the server rather than reporting a result to check. A COMMIT that fails
/// throws pqxx::sql_error (the server ended the transaction), a connection lost on the way
/// pqxx::broken_connection (whether the transaction committed is unknown, as with pqxx::in_doubt_error).
#include <cstddef>
#include <optional>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "base/postgres/statement_set.hpp"

namespace projectord::postgres {

/// A handler queues its rows as statements on the commit when a transaction writes at most this many (a live
/// one); more go by COPY or a pipeline of their own, which write rows faster than as many statements on the
/// commit and whose extra round trips are small beside a catch-up's rows.
constexpr std::size_t kRowsOnCommit = 8;

/// A statement queued with `on_commit` failed; nothing of the transaction committed.
struct FailedBeforeCommit : pqxx::sql_error {
  FailedBeforeCommit(std::size_t index, const std::string& message, const std::string& statement,
                     const std::string& sqlstate);
  std::size_t index;  ///< the statement's place among those queued
};

class PipelinedCommit final : public pqxx::work {
 public:
  // libpqxx's transactions share a virtual base, which the most derived class names.
  explicit PipelinedCommit(pqxx::connection& connection)
      : pqxx::internal::namedclass("PipelinedCommit"), pqxx::work(connection) {}

  /// Queues one execution of `statement` for the commit; an empty value is SQL NULL. When it fails,
  /// FailedBeforeCommit's message names `blame` (postgres::blamed), if given. Returns its place among those
  /// queued (FailedBeforeCommit::index).
  std::size_t on_commit(const Statement& statement, std::vector<std::optional<std::string>> values,
                        std::string blame = {});

  /// Whether a handler queues the `rows` it writes now on the commit: a few (kRowsOnCommit), or any number once
  /// something is queued, so that what it writes later in the transaction stays after what it queued before.
  bool takes(std::size_t rows) const { return rows <= kRowsOnCommit || !queued_.empty(); }

 private:
  void do_commit() override;
  void roll_back() noexcept;

  struct Queued {
    Statement statement;
    std::vector<std::optional<std::string>> values;
    std::string blame;
  };
  std::vector<Queued> queued_;
};

}  // namespace projectord::postgres
