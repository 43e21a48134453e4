#pragma once
/// A handler's checkpoint row in projectord.checkpoints. `advance` runs inside the batch's transaction
/// and fails unless the row still holds the position this process last read: a second process working
/// the same handler makes the transaction roll back instead of applying events twice. `commit_advance` sends
/// the move with the COMMIT, where no answer can be looked at before the COMMIT runs: there the statement
/// itself fails unless it moved the row. The row also holds
/// the row the checkpoint ended on (`RowMark`), by which a lane notices a source that went backwards.
/// A lane fences its store with the epoch of its lease (checkpoints/leases.hpp): `advance` then also needs
/// the lease row to hold that epoch, in the same statement, so a process that lost its lease commits nothing.
/// With a pyeventsourcing tracking table (checkpoints/tracking_table.hpp), `advance` records the new position
/// there in the same transaction, and `load` moves a checkpoint that is behind the table's position up to it:
/// a read model and its tracking row commit together, whichever side wrote them, so the row is the place.
#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>

#include "base/event.hpp"
#include "base/postgres/pipelined_commit.hpp"
#include "base/postgres/statement_set.hpp"
#include "checkpoints/tracking_table.hpp"

namespace projectord::checkpoints {

/// Thrown by `advance` when another process moved the checkpoint; the caller reloads it.
struct CheckpointMoved : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Thrown by a fenced `advance` when the lease's epoch is no longer the store's: another process took the
/// handler over. The caller rolls back and stands by.
struct LeaseLost : CheckpointMoved {
  using CheckpointMoved::CheckpointMoved;
};

/// Positions passed as holes, each with the time (unix milliseconds) until which it is re-checked.
using HoleDeadlines = std::map<Position, std::int64_t>;

/// A row of the source at or below the checkpoint: its position and the fingerprint of its stream id, version
/// and type (sources/row_fingerprint.hpp).
struct RowMark {
  Position position = 0;
  std::int64_t fingerprint = 0;
  bool operator==(const RowMark&) const = default;
};

struct Checkpoint {
  Position position = 0;
  HoleDeadlines holes;
  std::optional<RowMark> mark;  ///< the row the checkpoint ended on; none noted yet
  /// Where the stored checkpoint was when `load` moved it up to the tracking table's position; none: not moved.
  std::optional<Position> behind_tracking;
};

/// The position stored for `handler`, in a statement of its own; none while it has no checkpoint row.
std::optional<Position> stored_position(pqxx::connection& connection, const std::string& handler);

class CheckpointStore {
 public:
  CheckpointStore(std::string handler, std::string source, std::optional<TrackingTable> tracking = std::nullopt);

  /// The checkpoint's row: the handler's name, or NAME:rebuild for a rebuild's shadow.
  const std::string& key() const { return handler_; }

  /// From now on `advance` and `commit_advance` move the checkpoint only while the lease on `key()` has
  /// `epoch`. A store never fenced relies on the compare-and-set alone (a tool or test that runs no lease).
  void fence(std::int64_t epoch) { epoch_ = epoch; }

  /// Prepares the statements `advance` and `commit_advance` send, where `pooling` lets them be; call once per
  /// connection.
  void prepare(pqxx::connection& connection, postgres::Pooling pooling);

  /// Creates the row at position `first` when missing and returns what is stored; a checkpoint behind the
  /// tracking table's position takes it first, with no holes and no row noted (as `reset`). Call once per
  /// connection.
  Checkpoint load(pqxx::connection& connection, Position first = 0);

  /// Whether the handler has a checkpoint row yet.
  bool exists(pqxx::connection& connection) const;

  /// Moves the checkpoint from `from` to `to` (they may be equal) and stores the holes to re-check. Throws
  /// LeaseLost when fenced with an epoch the lease no longer has, else CheckpointMoved when not at `from`.
  void advance(pqxx::work& txn, Position from, Position to, std::int64_t events, const HoleDeadlines& holes) const;

  /// As `advance`, then commits: the move goes out with the COMMIT, in one round trip. Throws as `advance`
  /// does, with nothing committed.
  void commit_advance(postgres::PipelinedCommit& txn, Position from, Position to, std::int64_t events,
                      const HoleDeadlines& holes) const;

  /// Notes `mark` as the row the checkpoint ended on, in a statement of its own: kept only while the
  /// checkpoint is at or past it.
  void mark(pqxx::connection& connection, const RowMark& mark) const;

  /// An operator's reset: the checkpoint goes to `to`, with no holes and no row noted, and so does the
  /// tracking table's position (else the next `load` would move the checkpoint back up).
  void reset(pqxx::connection& connection, Position to) const;

 private:
  LeaseLost lease_lost() const;
  CheckpointMoved moved_from(Position from) const;

  std::string handler_;
  std::string source_;
  std::optional<TrackingTable> tracking_;
  std::optional<std::int64_t> epoch_;  ///< of the lease, once fenced
  postgres::StatementSet statements_;
};

}  // namespace projectord::checkpoints
