#pragma once
/// What a lane reads its events from: one source, read for one handler, over the lane's own connection(s).
/// The lane (daemon/lane.hpp) owns everything about applying events and moving the checkpoint; a source owns
/// everything about its kind of source: when a position is settled (PostgreSQL's holes), what a delivery
/// needs acknowledged (Redis's XACK), and how to wait for news.
///
/// A source is used on its lane's thread only, except `wake`.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

#include "checkpoints/checkpoint_store.hpp"
#include "base/event.hpp"
#include "base/postgres/connection_pool.hpp"

namespace projectord {

/// A stored event that could not be turned into an Event: what a dead letter records of it.
struct Undecodable {
  std::string stream_id;
  std::string type;
  std::string payload;  ///< as stored (or the entry's fields), for the operator to look at
  std::string error;    ///< names the source and position
  std::int64_t version = 0;  ///< the stream version when the store has one apart from the payload
};

/// One event of a batch, in position order: decoded, or a poison event that never reaches the handler.
struct SourceRow {
  Position position = 0;
  std::variant<Event, Undecodable> content;
};

struct SourceBatch {
  std::vector<SourceRow> rows;  ///< settled events after the position asked for, in order
  Position to = 0;           ///< where the checkpoint goes once `rows` are applied (>= the last row)
  /// The source's true head at this read: its highest position whatever the checkpoint (a PostgreSQL table's
  /// max(position), a Redis stream's last generated id); below the checkpoint when the store went backwards.
  Position head = 0;
  bool blocked = false;      ///< events beyond `to` exist but are not settled yet
  /// What a blocked read waits for: a hole (a position whose writer has not committed yet), or an entry that
  /// another reader of the handler holds (a consumer of the same Redis consumer group).
  enum class Wait { hole, other_reader };
  Wait waits_for = Wait::hole;
  bool truncated = false;    ///< the read stopped at its limit: more is ready now
};

/// What a source holds at a position now, for the check that it did not go backwards under the checkpoint.
struct RowAt {
  enum class Found {
    row,      ///< a row of this source: `fingerprint` is its (sources/row_fingerprint.hpp)
    missing,  ///< no row of this source
    retired,  ///< gone by the source's own rules (a Redis stream trimmed past it): nothing to compare
  };
  Found found = Found::missing;
  std::int64_t fingerprint = 0;
};

/// Thrown by a source that cannot serve its lane as configured, for a reason no retry fixes (a stream trimmed
/// past what a rebuild needs): the lane stops and says why.
struct SourceRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Source {
 public:
  virtual ~Source() = default;

  /// Opens the source's connection(s) for a new session (after a failure, a resume): `session_name` is
  /// what the servers show for them. `holes` are what the checkpoint recorded for the source to watch.
  virtual void open(const std::string& session_name, checkpoints::HoleDeadlines holes) = 0;

  /// The lane holds its handler alone for this session (its lease): every other reader of the handler is a
  /// previous owner, dead, stood down or about to (its fenced commit fails), so what it read and left
  /// unapplied is this source's to take over at once. Called after open(), before the first read; it holds
  /// until the next open(). A source that shares no delivery state with other readers has nothing to take over.
  virtual void sole_owner() {}

  /// The PostgreSQL database a source reads on its lane's borrowed connection (daemon/lane/lane_connections.hpp),
  /// or nullopt: it reads elsewhere.
  virtual std::optional<std::string> postgres_url() const { return std::nullopt; }
  /// Given once, before open(), by a lane that borrows the source's connection: `lend` returns the one it
  /// holds (borrowing it again if it gave it back), to be prepared anew whenever its session number changes.
  /// A source never given one opens its own.
  virtual void read_on(std::function<postgres::Lent()> /*lend*/) {}
  /// Ends the lane's wait() now, if it waits, or the next one at once (any thread): another lane waits for the
  /// connections this one holds. Not a wake(): the other lanes of the source go on waiting.
  virtual void interrupt_wait() {}

  /// Reads up to `limit` events after `after`. May block while waiting for news (a Redis stream's BLOCK),
  /// returning early when `wake` is called or stop is requested.
  virtual SourceBatch read(Position after, std::size_t limit, std::stop_token stop) = 0;

  /// Waits for news after a read found nothing to do: returns on news, after the poll interval (or sooner
  /// when `blocked` and a hole's deadline comes first), on `wake` or on stop.
  virtual void wait(bool blocked, std::stop_token stop) = 0;

  /// Any thread: ends a `read` or `wait` in progress now (a pause asked for).
  virtual void wake() = 0;

  /// After a transaction moved the checkpoint to `to` (the lane's thread, after its commit).
  virtual void committed(Position to) = 0;

  /// After an operator moved the checkpoint to `to` (the lane's thread; a new session follows): a source that
  /// keeps its own record of what it delivered (a Redis consumer group) moves it there too.
  virtual void checkpoint_reset(Position to) = 0;

  /// Late rows: events found, after the lane passed their positions as holes, to apply now out of order.
  /// Returns nothing unless a recheck is due. `holes_changed` says whether `holes()` shrank.
  virtual std::vector<SourceRow> late_rows(bool& holes_changed) = 0;

  /// The event at `position`, read again (an operator retries its dead letter); nullopt when the source no
  /// longer has it.
  virtual std::optional<SourceRow> read_at(Position position) = 0;

  /// The source's true head now (see SourceBatch::head), asked outside a read.
  virtual Position head() = 0;

  /// What the source holds at `position` now (the row a checkpoint ended on).
  virtual RowAt row_at(Position position) = 0;

  /// Positions passed as holes and still watched, stored with every checkpoint move.
  virtual const checkpoints::HoleDeadlines& holes() const = 0;

  /// Whether the source was written since the last call: a rebuild then works in small transactions.
  virtual bool written_since_last_asked() = 0;

  /// For /status and logs: the settled-read state of the source.
  struct Diagnostics {
    std::size_t open_holes = 0;
    std::uint64_t forced_hole_skips = 0;
    std::chrono::milliseconds oldest_hole_wait{0};
    std::uint64_t blocking_xmin = 0;
    /// Events the source holds beyond the lane, when the source counts them (a Redis stream: its positions are
    /// entry ids, whose differences are no counts); else the lag is head - position.
    std::optional<std::int64_t> lag_events;
    /// Read cycles taken from another lane's read of the source (sources/postgres/shared_reads.hpp).
    std::uint64_t shared_reads = 0;
  };
  virtual Diagnostics diagnostics() const = 0;

  /// The source's name, as events carry it.
  virtual const std::string& name() const = 0;
  /// The most events one read returns (the source's batch_size).
  virtual std::size_t batch_size() const = 0;
};

}  // namespace projectord
