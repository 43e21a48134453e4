#pragma once
/// projectord.dead_letters: events a handler gave up on (after max_attempts, with on_error = "dead_letter").
/// Recorded in the same transaction that moves the checkpoint past the event.
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>

#include "daemon/event.hpp"

namespace projectord::checkpoints {

struct DeadLetter {
  std::string handler;
  std::string source;
  Position position = 0;
  std::string stream_id;
  std::string event_type;
  std::string payload;  ///< the decoded data as JSON, or the raw stored text when it could not be decoded
  std::string error;
  int attempts = 0;
};

void record_dead_letter(pqxx::work& txn, const DeadLetter& letter);

/// Whether `handler` has given up on the event at `position` before (by its policy or an operator's skip).
bool is_dead_letter(pqxx::connection& connection, const std::string& handler, Position position);

}  // namespace projectord::checkpoints
