#pragma once
/// A projection handler writes a read model in PostgreSQL.
///
/// Contract: `apply` receives a batch of events in position order, all already type-filtered for this
/// handler, and must leave the read model exactly as applying them one by one in that order would. It runs
/// inside the caller's transaction, which also moves the handler's checkpoint: the handler never commits,
/// and any exception rolls the whole batch back. The caller then retries the batch event by event to find
/// and isolate a poison event, so `apply` must not keep state between calls that a rollback would
/// invalidate (prepared statements on the connection are fine).
#include <memory>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <span>
#include <string>
#include <vector>

#include "daemon/event.hpp"

namespace projectord::handlers {

class ProjectionHandler {
 public:
  virtual ~ProjectionHandler() = default;

  /// Idempotent DDL that creates the read model (run by `projectord migrate` and before the first batch).
  virtual std::vector<std::string> setup_sql() const = 0;

  /// Called once per (re)connection before the first batch: prepare statements, temp tables.
  virtual void on_connect(pqxx::connection& /*connection*/) {}

  virtual void apply(pqxx::work& txn, std::span<const Event> events) = 0;
};

}  // namespace projectord::handlers
