#include "base/postgres/pipelined_commit.hpp"

#include "base/postgres/statement_pipeline.hpp"

namespace projectord::postgres {

namespace {
// Sent as text on every connection: the extended protocol runs the COMMIT that SQL's PREPARE refuses, and a
// COMMIT has no plan worth keeping.
const Statement kCommit{"COMMIT", "COMMIT", "", false};
}  // namespace

FailedBeforeCommit::FailedBeforeCommit(std::size_t index, const std::string& message, const std::string& statement,
                                       const std::string& sqlstate)
    : pqxx::sql_error(message, statement, sqlstate.empty() ? nullptr : sqlstate.c_str()), index(index) {}

std::size_t PipelinedCommit::on_commit(const Statement& statement, std::vector<std::optional<std::string>> values,
                                       std::string blame) {
  queued_.push_back({statement, std::move(values), std::move(blame)});
  return queued_.size() - 1;
}

void PipelinedCommit::do_commit() {
  std::optional<StatementPipeline::Failure> failure;
  try {
    // A pipeline cannot prepare: what it sends by name is prepared first (once per connection).
    for (const Queued& queued : queued_) {
      if (queued.statement.prepared) conn().prepare_now(queued.statement.prepared_name);
    }
    StatementPipeline pipeline(*this);
    for (const Queued& queued : queued_) pipeline.send(queued.statement, queued.values);
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
  const Queued& failed = queued_[failure->index];
  throw FailedBeforeCommit(failure->index,
                           failed.blame.empty() ? failure->message : blamed(failure->message, failed.blame),
                           failed.statement.name, failure->sqlstate);
}

void PipelinedCommit::roll_back() noexcept {
  try {
    dbtransaction::do_abort();
  } catch (const std::exception&) {
    // The connection is gone, and the server's transaction with it.
  }
}

}  // namespace projectord::postgres
