#pragma once
/// The write transaction a catching-up lane keeps open across several reads, and the write of a folding
/// handler's transaction in the background. One per lane; the lane's thread only (the write itself runs on
/// the BackgroundWriter's thread).
///
/// Contract. A session's target connection is lent by `begin_session`, whose guard is declared right after
/// the connection: when the guard goes (an exception included), the open transaction is rolled back and a
/// write in flight ends and is forgotten, before the connection closes. The write in flight uses the target
/// connection, so the lane's every other use of it comes after `finish_writing` (or `close`). A transaction
/// commits once the source has no more, or once it is full: a folding handler's when its fold holds half of
/// the handler's memory budget, any other's after kReadsPerTransaction full reads; in a rebuild under writes,
/// after each read. A folding handler's transaction has no server transaction until it is written: its reads
/// are folded in memory, then sealed and written with the checkpoint's move on the writer thread, one
/// transaction at a time and in order; with `overlap` the lane reads and folds the next meanwhile, so the two
/// folds together stay within the budget. Once the source has no more after such writes, the memory they
/// freed is given back to the system: a caught-up lane holds little. Any other handler's reads are applied in
/// an open pqxx::work. A failure of the events' own (an undecodable row, the
/// handler's error, a failed commit or write) rolls back, discards the handler's pending state and marks the
/// range up to its end for careful replay: reads there are not taken (`takes`), the lane applies them one
/// chunk per transaction, where it isolates poison events. A background write that failed so ends the
/// session with SessionEnd::rewind, as the lane had read on past it. Transient failures (failure.hpp) are
/// thrown: the lane reconnects. `committed` is called after each commit, in order.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/event.hpp"
#include "base/postgres/session.hpp"
#include "checkpoints/checkpoint_store.hpp"
#include "daemon/lane/background_writer.hpp"
#include "daemon/lane/session_end.hpp"
#include "handlers/event_types.hpp"
#include "handlers/projection_handler.hpp"
#include "sources/source.hpp"

namespace projectord {

/// While catching up, one write transaction of a handler that does not fold spans this many full reads
/// (batch_size each): fewer commits to wait for, and a rollback loses little work.
inline constexpr std::size_t kReadsPerTransaction = 2;

class CatchupTransaction {
 public:
  /// What the transactions need of the lane; all of it outlives this.
  struct Lane {
    const std::string& handler;
    handlers::ProjectionHandler& projection;
    const handlers::TypeFilter& types;
    const checkpoints::CheckpointStore& checkpoint;
    const Source& source;      ///< for the holes stored with each checkpoint
    const Position& position;  ///< the lane's checkpoint, which `committed` moves
    const postgres::SessionSettings& session;  ///< begins each transaction on the target
    /// After a commit that moved the checkpoint to `to` with `events` applied, in a transaction whose first
    /// read began at `started`.
    std::function<void(Position to, std::int64_t events, Clock::time_point started)> committed;
  };

  explicit CatchupTransaction(Lane lane);

  /// Ends the session's transactions before its connection closes (see the contract).
  class Session {
   public:
    explicit Session(CatchupTransaction& owner) : owner_(owner) {}
    ~Session() { owner_.end_session(); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

   private:
    CatchupTransaction& owner_;
  };
  /// `target`: the lane's target connection, as it holds it when a transaction begins.
  [[nodiscard]] Session begin_session(std::function<pqxx::connection&()> target);

  bool open() const { return open_.has_value(); }
  /// Nothing open or being written: the lane may give its connections back.
  bool quiet() const { return !open_ && !writing_; }
  /// Where the next read starts: after the open transaction, else after the one being written, else after
  /// the checkpoint.
  Position read_from() const;
  /// Whether a read from `read_from` goes into the open transaction (opening it): one is open, or the source
  /// has more (`truncated`) and the range is not marked for careful replay.
  bool takes(Position read_from, bool truncated) const { return open_ || (truncated && read_from >= careful_until_); }
  /// Adds a read's rows, up to `to`, to the open transaction (opening it, timed from `read_started`).
  void add(std::vector<SourceRow>& rows, Position to, Clock::time_point read_started);
  /// After each read: commits the open transaction once it is full or the source has no more (`truncated`
  /// false), and when the source has no more, waits for the write.
  Step after_read(bool truncated, bool one_read_per_transaction);
  /// Commits the open transaction, if any, and waits for the write: the target connection is the lane's.
  Step close();
  /// Waits for the write in the background, if any.
  Step finish_writing();

 private:
  // An open transaction. A folding handler's has no `txn`: its reads are folded until it is written.
  struct Open {
    std::unique_ptr<pqxx::work> txn;
    Clock::time_point started;  ///< its first read
    Position to = 0;
    std::int64_t events = 0;
    std::size_t reads = 0;
  };
  // A transaction being written in the background: it moves the checkpoint to `to`.
  struct Writing {
    std::unique_ptr<handlers::SealedWrites> sealed;  ///< what the writer thread writes: kept until it is collected
    Position to;
    std::int64_t events;
    Clock::time_point started;
  };

  bool full(bool one_read_per_transaction) const;
  Step commit(bool overlap);
  Step write_in_background(bool overlap);
  void abandon(Position to, const std::string& error);
  void replay_carefully(Position to, const std::string& error);
  void end_session();

  Lane lane_;
  handlers::Folding* const folding_;    ///< the handler's folding side, or null
  std::function<pqxx::connection&()> target_;  ///< the session's, between begin_session and the guard's end
  std::optional<Open> open_;
  Position careful_until_ = 0;  ///< up to here, one chunk per transaction: a failure was seen in this range
  BackgroundWriter writer_;
  std::optional<Writing> writing_;
  bool written_since_caught_up_ = false;  ///< folds were written and freed since the source last had no more
};

}  // namespace projectord
