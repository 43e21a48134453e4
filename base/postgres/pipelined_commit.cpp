#include "base/postgres/pipelined_commit.hpp"

#include "base/postgres/statement_pipeline.hpp"

namespace projectord::postgres {

namespace {
// The protocol prepares what SQL's PREPARE refuses: a named COMMIT is sent like any prepared statement.
constexpr const char* kCommit = "projectord_commit";
}  // namespace

FailedBeforeCommit::FailedBeforeCommit(std::size_t index, const std::string& message, const std::string& statement,
                                       const std::string& sqlstate)
    : pqxx::sql_error(message, statement, sqlstate.empty() ? nullptr : sqlstate.c_str()), index(index) {}

void PipelinedCommit::prepare(pqxx::connection& connection) { connection.prepare(kCommit, "COMMIT"); }

std::size_t PipelinedCommit::on_commit(std::string name, std::vector<std::optional<std::string>> values) {
  queued_.push_back({std::move(name), std::move(values)});
  return queued_.size() - 1;
}

void PipelinedCommit::do_commit() {
  std::optional<StatementPipeline::Failure> failure;
  try {
    // A pipeline cannot prepare: what it sends is prepared first (once per connection).
    for (const Queued& queued : queued_) conn().prepare_now(queued.name);
    conn().prepare_now(kCommit);
    StatementPipeline pipeline(*this);
    for (const Queued& queued : queued_) pipeline.send(queued.name, queued.values);
    pipeline.send(kCommit, {});
    failure = pipeline.finish();
  } catch (...) {
    // libpqxx takes a transaction whose commit threw as ended: the COMMIT may never have gone out.
    roll_back();
    throw;
  }
  if (!failure) return;
  if (failure->index == queued_.size()) {
    throw pqxx::sql_error(failure->message, "COMMIT", failure->sqlstate.empty() ? nullptr : failure->sqlstate.c_str());
  }
  // The server skipped the COMMIT: its transaction is aborted, waiting for the ROLLBACK.
  roll_back();
  throw FailedBeforeCommit(failure->index, failure->message, queued_[failure->index].name, failure->sqlstate);
}

void PipelinedCommit::roll_back() noexcept {
  try {
    dbtransaction::do_abort();
  } catch (const std::exception&) {
    // The connection is gone, and the server's transaction with it.
  }
}

}  // namespace projectord::postgres
