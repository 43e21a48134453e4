#pragma once
/// A handler's checkpoint row in projectord.checkpoints. `advance` runs inside the batch's transaction
/// and fails unless the row still holds the position this process last read: a second process working
/// the same handler makes the transaction roll back instead of applying events twice.
#include <cstdint>
#include <map>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>

#include "base/event.hpp"

namespace projectord::checkpoints {

/// Thrown by `advance` when another process moved the checkpoint; the caller reloads it.
struct CheckpointMoved : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Positions passed as holes, each with the time (unix milliseconds) until which it is re-checked.
using HoleDeadlines = std::map<Position, std::int64_t>;

struct Checkpoint {
  Position position = 0;
  HoleDeadlines holes;
};

class CheckpointStore {
 public:
  CheckpointStore(std::string handler, std::string source) : handler_(std::move(handler)), source_(std::move(source)) {}

  /// The checkpoint's row: the handler's name, or NAME:rebuild for a rebuild's shadow.
  const std::string& key() const { return handler_; }

  /// Prepares `advance`'s statement; call once per connection.
  void prepare(pqxx::connection& connection) const;

  /// Creates the row at position 0 when missing and returns what is stored.
  Checkpoint load(pqxx::connection& connection) const;

  /// Moves the checkpoint from `from` to `to` (they may be equal) and stores the holes to re-check.
  void advance(pqxx::work& txn, Position from, Position to, std::int64_t events, const HoleDeadlines& holes) const;

 private:
  std::string handler_;
  std::string source_;
};

}  // namespace projectord::checkpoints
