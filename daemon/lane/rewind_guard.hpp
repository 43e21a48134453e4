#pragma once
/// Notices a source that went backwards under the lane's checkpoint (a test database flushed with TRUNCATE
/// ... RESTART IDENTITY, a restore from an older backup or one with other contents, a Redis stream deleted and
/// created anew): its head below the checkpoint, or the row the checkpoint ended on (checkpoints::RowMark)
/// gone or changed. The source is checked at each session's start; a read whose head is below the checkpoint
/// ends the session, so that the next one's start checks it. A rewound lane applies nothing: it shows
/// source_rewound with both positions and checks again with backoff, going on by itself when the store comes
/// back, until an operator rebuilds the handler (a replay from 0 needs no checkpoint) or resets its checkpoint.
///
/// It also notes, between transactions once the lane is caught up, the row the checkpoint ended on, and
/// carries out operators' resets (`projectord reset-checkpoint`). Used on the lane's thread, except
/// `request_reset`.
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <stop_token>
#include <string>

#include "base/clock.hpp"
#include "base/wake_signal.hpp"
#include "checkpoints/checkpoint_store.hpp"
#include "daemon/lane/status_board.hpp"
#include "sources/source.hpp"

namespace projectord {

/// Why a source is rewound under `checkpoint`, from its `head` and what it holds (`found`, looked up only
/// when the head is not below the checkpoint) at the position of `mark`; nullopt when it is not.
std::optional<std::string> rewound_because(Position checkpoint, Position head,
                                           const std::optional<checkpoints::RowMark>& mark,
                                           const std::optional<RowAt>& found);

class RewindGuard {
 public:
  RewindGuard(std::string handler, Source& source, const checkpoints::CheckpointStore& checkpoint,
              StatusBoard& board);

  /// At a session's start, the source open: checks it against the checkpoint as loaded, holding the lane while
  /// it is rewound. False when the session must end instead (the checkpoint was reset, or stop requested).
  bool start(pqxx::connection& target, const checkpoints::Checkpoint& loaded, std::stop_token stop);

  /// After a read from `after`, before its rows are applied: notes the batch's last row; true when the
  /// source's head is below `after` (the session ends, and the next one's start checks the source).
  bool went_back(const SourceBatch& batch, Position after);

  /// Caught up, between transactions: stores the last row read as the one the checkpoint ended on, once the
  /// checkpoint covers it, at most once per kMarkInterval: a live lane commits a batch per event or so, and
  /// a mark a little behind the checkpoint catches a rewound store as well (it is a row at or below it).
  void note_mark(pqxx::connection& target, Position checkpoint, Clock::time_point now);

  static constexpr std::chrono::seconds kMarkInterval{1};

  /// Any thread: an operator (`origin`) asks for the checkpoint at `to`, served between transactions.
  void request_reset(Position to, std::string origin);
  bool reset_requested() const;

  /// Between transactions: carries out a requested reset (to at most the source's head); true when it did,
  /// and the session then starts anew from the new checkpoint.
  bool serve_reset(pqxx::connection& target);

 private:
  std::optional<std::string> judge(Position checkpoint);
  bool hold(pqxx::connection& target, Position checkpoint, const std::string& reason, std::stop_token stop);

  struct Reset {
    Position to;
    std::string origin;
  };

  std::string handler_;
  Source& source_;
  const checkpoints::CheckpointStore& checkpoint_;
  StatusBoard& board_;
  std::optional<checkpoints::RowMark> mark_;  ///< as stored
  std::optional<checkpoints::RowMark> seen_;  ///< the last row read
  Clock::time_point marked_at_{};             ///< when mark_ was last stored
  mutable std::mutex mutex_;
  std::optional<Reset> reset_;  ///< guarded by mutex_
  WakeSignal reset_wake_;       ///< ends a rewound lane's wait when a reset is asked for
};

}  // namespace projectord
