#pragma once
/// Built-in `event_log` projection: one row per event in an append-only table shaped like the Django guide's
/// UserEventLog model (`user_event_log`: user_id, event_type, event_version, event_data, timestamp,
/// processed_at, global_position), written with COPY; a live transaction's few rows go as statements sent with
/// its COMMIT (postgres::PipelinedCommit), in the same round trip. event_type is the type's class name
/// ("UserRegistered").
#include <memory>
#include <string>

#include "config/config.hpp"
#include "base/postgres/statement_set.hpp"
#include "base/result.hpp"
#include "handlers/projection_handler.hpp"

namespace projectord::handlers {

class EventLogHandler final : public ProjectionHandler {
 public:
  static Result<std::unique_ptr<ProjectionHandler>> make(const config::Handler& handler);

  std::vector<SetupStatement> setup_sql() const override;
  std::vector<ReaderIndex> reader_indexes() const override;
  std::map<std::string, std::set<std::string>> bookkeeping_columns() const override;
  void on_connect(pqxx::connection& connection, postgres::Pooling pooling) override;
  void apply(pqxx::work& txn, std::span<const Event> events) override;

 private:
  explicit EventLogHandler(std::string table);
  std::string table_;
  postgres::StatementSet statements_;  ///< the insert of one row
};

}  // namespace projectord::handlers
