#pragma once
/// Built-in `users` projection: the Django guide's UserProjection read model (`user_projection`),
/// fed by UserRegistered, UserEmailChanged, UserProfileUpdated and UserDeactivated.
///
/// Per event, in position order (this is the contract the batch path must equal):
/// - UserRegistered: create the row (empty strings for missing names, active, created_at = event time) or,
///   if it exists, overwrite username, email, first_name, last_name;
/// - UserEmailChanged: email = new_email; UserProfileUpdated: each non-null of first_name, last_name, phone;
///   UserDeactivated: is_active = false, deactivated_at = event time;
/// - every applied event sets current_version = its version, last_event_processed = its position and
///   updated_at = now(); an event for a user with no row changes nothing (the guide logs a warning).
/// The events of a transaction are folded per user in memory (two outcomes: the row existed before the
/// transaction or not); `flush` (or the sealed writes) stages the folds with COPY and applies them with one UPDATE
/// (rows that existed) and one INSERT ... ON CONFLICT (user_id) DO NOTHING (rows that did not: the guide's unique
/// user_id tells them apart), so a user touched by many events in a catch-up is written once per transaction,
/// and a catch-up's transaction folds until half of `fold_memory` is held (handlers::Folding). A live
/// transaction of a few users sends one UPDATE or INSERT per user with its COMMIT instead
/// (postgres::PipelinedCommit).
#include <cstddef>
#include <memory>
#include <string>

#include "base/postgres/statement_set.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "handlers/projection_handler.hpp"

namespace projectord::handlers {

class UsersHandler final : public ProjectionHandler, public Folding {
 public:
  static Result<std::unique_ptr<ProjectionHandler>> make(const config::Handler& handler);

  std::vector<SetupStatement> setup_sql() const override;
  bool uses_temp_tables() const override { return true; }
  std::vector<ReaderIndex> reader_indexes() const override;
  std::map<std::string, std::set<std::string>> bookkeeping_columns() const override;
  void on_connect(pqxx::connection& connection, postgres::Pooling pooling) override;
  void apply(pqxx::work& txn, std::span<const Event> events) override;
  void flush(pqxx::work& txn) override;
  void discard() override;
  Folding* folding() override { return this; }
  void fold(std::span<const Event> events) override;
  std::size_t folded_bytes() const override;
  std::size_t memory_budget() const override { return memory_budget_; }
  std::unique_ptr<SealedWrites> seal() override;
  ~UsersHandler() override;

 private:
  UsersHandler(std::string table, std::size_t memory_budget);
  struct Pending;
  class Writes;

  std::string table_;
  std::size_t memory_budget_;  ///< `fold_memory`
  std::string stage_;
  bool stage_per_transaction_ = false;  ///< behind a transaction pooler: created ON COMMIT DROP by each write
  std::string update_sql_;
  std::string insert_sql_;
  postgres::StatementSet statements_;  ///< one user's UPDATE and INSERT, for a live transaction's few users
  std::unique_ptr<Pending> pending_;
};

}  // namespace projectord::handlers
