#pragma once
/// projectord.dead_letters: events a handler gave up on (after max_attempts, with on_error = "dead_letter").
/// Recorded in the same transaction that moves the checkpoint past the event. An operator may retry them
/// (the handler applies the event again, out of order) or drop them.
#include <pqxx/connection>
#include <pqxx/transaction>
#include <optional>
#include <string>
#include <vector>

#include "base/event.hpp"

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

/// A dead letter as an operator acts on it: its row id and the event's position.
struct StoredLetter {
  std::int64_t id = 0;
  Position position = 0;
};

/// The dead letters of `handler` in position order: all of them, or the one with row id `id`.
std::vector<StoredLetter> dead_letters_of(pqxx::connection& connection, const std::string& handler,
                                          std::optional<std::int64_t> id);

/// Removes a dead letter (retried successfully, or dropped by an operator).
void remove_dead_letter(pqxx::work& txn, std::int64_t id);

/// A retry that failed again: the letter stays, with the new error and one more attempt.
void retry_failed(pqxx::work& txn, std::int64_t id, const std::string& error);

}  // namespace projectord::checkpoints
