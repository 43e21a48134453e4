#include "checkpoints/dead_letters.hpp"

#include <pqxx/result>

namespace projectord::checkpoints {

void record_dead_letter(pqxx::work& txn, const DeadLetter& letter) {
  txn.exec_params(
      "INSERT INTO projectord.dead_letters (handler, source, position, stream_id, event_type, payload, error, attempts)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
      " ON CONFLICT (handler, position) DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts",
      letter.handler, letter.source, letter.position, letter.stream_id, letter.event_type, letter.payload, letter.error,
      letter.attempts);
}

bool is_dead_letter(pqxx::connection& connection, const std::string& handler, Position position) {
  pqxx::read_transaction txn(connection);
  return !txn.exec_params("SELECT 1 FROM projectord.dead_letters WHERE handler = $1 AND position = $2", handler,
                          position)
              .empty();
}

std::vector<StoredLetter> dead_letters_of(pqxx::connection& connection, const std::string& handler,
                                          std::optional<std::int64_t> id) {
  pqxx::read_transaction txn(connection);
  const pqxx::result rows =
      id ? txn.exec_params("SELECT id, position FROM projectord.dead_letters WHERE handler = $1 AND id = $2", handler,
                           *id)
         : txn.exec_params("SELECT id, position FROM projectord.dead_letters WHERE handler = $1 ORDER BY position",
                           handler);
  std::vector<StoredLetter> letters;
  for (const auto& row : rows) letters.push_back({row[0].as<std::int64_t>(), row[1].as<Position>()});
  return letters;
}

void remove_dead_letter(pqxx::work& txn, std::int64_t id) {
  txn.exec_params("DELETE FROM projectord.dead_letters WHERE id = $1", id);
}

void retry_failed(pqxx::work& txn, std::int64_t id, const std::string& error) {
  txn.exec_params("UPDATE projectord.dead_letters SET error = $2, attempts = attempts + 1 WHERE id = $1", id, error);
}

}  // namespace projectord::checkpoints
