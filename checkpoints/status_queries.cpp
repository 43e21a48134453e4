#include "checkpoints/status_queries.hpp"

#include <pqxx/transaction>

#include "checkpoints/rebuilds.hpp"

namespace projectord::checkpoints {

std::optional<CheckpointSummary> checkpoint_summary(pqxx::connection& connection, const std::string& handler) {
  pqxx::read_transaction txn(connection);
  const pqxx::result row = txn.exec_params(
      "SELECT position, events_applied, updated_at::text,"
      " (SELECT count(*) FROM projectord.dead_letters d WHERE d.handler = c.handler)"
      " FROM projectord.checkpoints c WHERE handler = $1",
      handler);
  txn.commit();
  if (row.empty()) return std::nullopt;
  return CheckpointSummary{row[0][0].as<Position>(), row[0][1].as<std::int64_t>(), row[0][2].c_str(),
                           row[0][3].as<std::int64_t>()};
}

std::optional<RebuildSummary> rebuild_summary(pqxx::connection& connection, const std::string& handler) {
  pqxx::read_transaction txn(connection);
  const pqxx::result row = txn.exec_params(
      "SELECT coalesce(c.position, 0), r.requested_by, r.started_at::text FROM projectord.rebuilds r"
      " LEFT JOIN projectord.checkpoints c ON c.handler = $2 WHERE r.handler = $1",
      handler, rebuild::shadow_checkpoint(handler));
  txn.commit();
  if (row.empty()) return std::nullopt;
  return RebuildSummary{row[0][0].as<Position>(), row[0][1].c_str(), row[0][2].c_str()};
}

std::vector<DeadLetterLine> first_dead_letters(pqxx::connection& connection, const std::string& handler,
                                               std::size_t limit, bool& more) {
  pqxx::read_transaction txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT id, position, coalesce(event_type, ''), attempts, created_at::text, error FROM projectord.dead_letters"
      " WHERE handler = $1 ORDER BY position LIMIT $2",
      handler, limit + 1);
  txn.commit();
  more = rows.size() > limit;
  std::vector<DeadLetterLine> letters;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) {
    const auto& row = rows[static_cast<int>(i)];
    letters.push_back({row[0].as<std::int64_t>(), row[1].as<Position>(), row[2].c_str(), row[3].as<std::int64_t>(),
                       row[4].c_str(), row[5].c_str()});
  }
  return letters;
}

}  // namespace projectord::checkpoints
