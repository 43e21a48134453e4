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

}  // namespace projectord::checkpoints
