#pragma once
/// Rows a lane's source found in positions the lane passed as holes (Source::late_rows), taken between
/// transactions. Each is applied alone, out of order, through the lane's batch path with the checkpoint
/// staying where it is, logged and counted in the lane's late_arrivals. When the source has no rows but
/// watches fewer holes, that change alone is stored with the checkpoint. The steps that touch the target
/// connection are the lane's: this unit decides what is due and in which order.
#include <functional>
#include <string>
#include <vector>

#include "base/event.hpp"
#include "daemon/lane/session_end.hpp"
#include "daemon/lane/status_board.hpp"
#include "sources/source.hpp"

namespace projectord {

class LateRows {
 public:
  /// The lane's steps, called on its thread.
  struct Steps {
    /// Before anything else: the target connection becomes the lane's alone (no write in flight).
    std::function<Step()> make_room;
    /// One row through the batch path, moving nothing: the checkpoint is past it.
    std::function<Step(std::vector<SourceRow>& one)> apply;
    /// The checkpoint's transaction with no events, for the holes it stores.
    std::function<void()> store_holes;
  };

  LateRows(std::string handler, Source& source, StatusBoard& board)
      : handler_(std::move(handler)), source_(source), board_(board) {}

  /// Takes what the source has and applies it with `steps`; `checkpoint` is for the log. Returns how a step
  /// ended the session, if one did.
  Step apply(Position checkpoint, const Steps& steps);

 private:
  std::string handler_;
  Source& source_;
  StatusBoard& board_;
};

}  // namespace projectord
