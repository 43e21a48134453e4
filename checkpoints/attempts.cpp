#include "checkpoints/attempts.hpp"

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "checkpoints/checkpoint_store.hpp"

namespace projectord::checkpoints {

namespace {

// One statement, so one round trip and atomic without a transaction of its own. `held` has a row only while
// the lease allows the record; the DELETE and the INSERT depend on it. A range being recorded again is left to
// the INSERT (an operator's retry of a dead letter, below the checkpoint): one statement must not both delete
// and update a row.
std::string record_sql(bool fenced) {
  const std::string held = fenced ? "SELECT 1 FROM projectord.leases WHERE name = $1 AND epoch = $4 FOR SHARE"
                                  : "SELECT 1 WHERE $4::bigint IS NULL";
  return "WITH held AS (" + held + "),"
         " ranges AS (SELECT * FROM unnest($2::bigint[], $3::bigint[]) AS r(first_position, last_position)),"
         " cleared AS (DELETE FROM projectord.attempts a USING projectord.checkpoints c"
         " WHERE a.handler = $1 AND c.handler = $1 AND a.last_position <= c.position AND EXISTS (SELECT FROM held)"
         " AND (a.first_position, a.last_position) NOT IN (SELECT first_position, last_position FROM ranges))"
         " INSERT INTO projectord.attempts AS a (handler, first_position, last_position, attempts)"
         " SELECT $1, first_position, last_position, 1 FROM ranges WHERE EXISTS (SELECT FROM held)"
         " ON CONFLICT (handler, first_position, last_position) DO UPDATE SET attempts = a.attempts + 1"
         " RETURNING 1";
}

std::string array_of(const std::vector<PositionRange>& ranges, Position PositionRange::*end) {
  std::string text = "{";
  for (const PositionRange& range : ranges) {
    if (text.size() > 1) text += ',';
    text += std::to_string(range.*end);
  }
  return text + "}";
}

}  // namespace

AttemptCounts recorded_attempts(pqxx::connection& connection, const std::string& handler) {
  pqxx::nontransaction txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT first_position, last_position, attempts FROM projectord.attempts WHERE handler = $1"
      " AND last_position > coalesce((SELECT position FROM projectord.checkpoints WHERE handler = $1), 0)",
      handler);
  AttemptCounts counts;
  for (const auto& row : rows) {
    counts.emplace(PositionRange{row[0].as<Position>(), row[1].as<Position>()}, row[2].as<int>());
  }
  return counts;
}

void record_attempts(pqxx::connection& connection, const std::string& handler, std::optional<std::int64_t> epoch,
                     const std::vector<PositionRange>& ranges) {
  if (ranges.empty()) return;
  pqxx::nontransaction txn(connection);
  const pqxx::result recorded =
      txn.exec_params(record_sql(epoch.has_value()), handler, array_of(ranges, &PositionRange::first),
                      array_of(ranges, &PositionRange::last), epoch);
  if (recorded.empty()) {
    throw LeaseLost("handler " + handler + ": lost its lease (epoch " + std::to_string(epoch.value_or(0)) +
                    ") to another projectord process; no delivery attempt recorded");
  }
}

}  // namespace projectord::checkpoints
