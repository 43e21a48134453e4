#pragma once
/// How a lane's session ends when not by an error to reconnect after, and so what the lane's run does next.
/// A step of the session that may end it (the lane's own or one of its units under daemon/lane/) returns a
/// `Step`: empty while the session goes on.
#include <optional>

namespace projectord {

enum class SessionEnd {
  finished,  ///< stop requested, caught up (exit_when_caught_up), or swapped in: the run ends
  halted,    ///< on_error = "stop" gave up on an event in a one-shot run: the run ends, halted
  handed_over,  ///< the spread gave the handler to another process: a new session stands by for it
  resumed,  ///< an operator resumed the halted lane: a new session (reconnect, re-read) retries the event
  rewind,    ///< a new session starts from the checkpoint as stored: a transaction written in the background
             ///< failed for a reason of its events' own (the lane had read and folded on past it, the range is
             ///< replayed carefully), the checkpoint was reset, or the source went backwards under it
};
using Step = std::optional<SessionEnd>;

}  // namespace projectord
