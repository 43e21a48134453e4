#include "base/postgres/statement_pipeline.hpp"

#include <algorithm>
#include <pqxx/except>
#include <pqxx/largeobject>
#include <stdexcept>

namespace projectord::postgres {

std::string blamed(std::string message, const std::string& blame) {
  const std::size_t line_end = std::min(message.find('\n'), message.size());
  message.insert(line_end, " (" + blame + ")");
  return message;
}

namespace {

// libpqxx 6.4 hands a transaction's libpq handle out only to its large-object classes, through a protected
// static: a class of theirs reaches it without touching libpqxx's private state.
struct HandleOf : pqxx::largeobject {
  static PGconn* of(const pqxx::dbtransaction& txn) { return raw_connection(txn); }
};

// What libpq refused to do, as libpqxx would throw it: a lost connection is the connection's fault, not the
// statement's.
[[noreturn]] void throw_client_error(PGconn* connection) {
  const std::string message = PQerrorMessage(connection);
  if (PQstatus(connection) != CONNECTION_OK) throw pqxx::broken_connection(message);
  throw std::runtime_error(message);
}

std::string sqlstate_of(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state == nullptr ? std::string() : std::string(state);
}

}  // namespace

StatementPipeline::StatementPipeline(pqxx::dbtransaction& txn) : connection_(HandleOf::of(txn)) {
  // libpqxx ends a COPY at its result, leaving the ready-for-query after it unread (PQexec would read it on
  // before the next statement): read it, so that the connection is idle and its transaction status known.
  while (PGresult* left = PQgetResult(connection_)) {
    const bool failed = PQresultStatus(left) == PGRES_FATAL_ERROR;
    PQclear(left);
    if (failed) throw std::logic_error("statement pipeline: an earlier statement's failure was left unread");
  }
  // The statements must belong to the caller's transaction, which commits them with the checkpoint; outside
  // one, each would commit on its own.
  if (PQtransactionStatus(connection_) != PQTRANS_INTRANS) {
    throw std::logic_error("statement pipeline: the connection has no open transaction");
  }
  if (PQenterPipelineMode(connection_) != 1) throw_client_error(connection_);
}

StatementPipeline::~StatementPipeline() {
  if (stage_ == Stage::sending && PQpipelineSync(connection_) == 1) stage_ = Stage::synced;
  while (stage_ == Stage::synced && PQstatus(connection_) == CONNECTION_OK) {
    PGresult* result = PQgetResult(connection_);
    if (result != nullptr && PQresultStatus(result) == PGRES_PIPELINE_SYNC) stage_ = Stage::drained;
    PQclear(result);
  }
  PQexitPipelineMode(connection_);
}

void StatementPipeline::send(const Statement& statement, std::span<const std::optional<std::string>> values) {
  pointers_.clear();
  for (const std::optional<std::string>& value : values) {
    // libpq sends a text parameter up to its first NUL: the value would be stored cut short without a word.
    if (value && value->find('\0') != std::string::npos) {
      throw pqxx::data_exception("invalid byte sequence for encoding \"UTF8\": 0x00 in parameter $" +
                                     std::to_string(pointers_.size() + 1) + " (PostgreSQL text cannot hold a NUL byte)",
                                 statement.name, "22021");
    }
    pointers_.push_back(value ? value->c_str() : nullptr);
  }
  const int count = static_cast<int>(pointers_.size());
  const int sent = statement.prepared
                       ? PQsendQueryPrepared(connection_, statement.prepared_name.c_str(), count, pointers_.data(), nullptr,
                                             nullptr, 0)
                       : PQsendQueryParams(connection_, statement.sql.c_str(), count, nullptr, pointers_.data(),
                                           nullptr, nullptr, 0);
  if (sent != 1) throw_client_error(connection_);
  ++sent_;
}

// In pipeline mode each statement's answer is one result followed by a null one; after a failure the server
// answers each later statement with PGRES_PIPELINE_ABORTED, up to the sync's PGRES_PIPELINE_SYNC. libpq reads
// answers while it waits to send, so a long pipeline cannot stall on the server's full output buffer.
std::optional<StatementPipeline::Failure> StatementPipeline::finish() {
  if (PQpipelineSync(connection_) != 1) throw_client_error(connection_);
  stage_ = Stage::synced;
  std::optional<Failure> failure;
  for (std::size_t index = 0; index < sent_; ++index) {
    while (PGresult* result = PQgetResult(connection_)) {
      if (!failure && PQresultStatus(result) == PGRES_FATAL_ERROR) {
        failure = Failure{index, PQresultErrorMessage(result), sqlstate_of(result)};
      }
      PQclear(result);
    }
    if (PQstatus(connection_) != CONNECTION_OK) throw_client_error(connection_);
  }
  PGresult* sync = PQgetResult(connection_);
  const bool in_step = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!in_step) {
    if (PQstatus(connection_) != CONNECTION_OK) throw_client_error(connection_);
    throw std::logic_error("statement pipeline: the server's answers are out of step with the statements sent");
  }
  stage_ = Stage::drained;
  if (PQexitPipelineMode(connection_) != 1) throw_client_error(connection_);
  return failure;
}

}  // namespace projectord::postgres
