#include "checkpoints/dead_letters.hpp"

namespace projectord::checkpoints {

void record_dead_letter(pqxx::work& txn, const DeadLetter& letter) {
  txn.exec_params(
      "INSERT INTO projectord.dead_letters (handler, source, position, stream_id, event_type, payload, error, attempts)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
      " ON CONFLICT (handler, position) DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts",
      letter.handler, letter.source, letter.position, letter.stream_id, letter.event_type, letter.payload, letter.error,
      letter.attempts);
}

}  // namespace projectord::checkpoints
