#include "daemon/lane/status_board.hpp"

#include <spdlog/spdlog.h>

namespace projectord {

void StatusBoard::set_state(LaneState state, Position position) {
  LaneState previous;
  {
    std::lock_guard lock(mutex_);
    previous = status_.state;
    status_.state = state;
  }
  if (previous == state) return;
  spdlog::info("handler={} event=state from={} to={} position={}", handler_, to_string(previous), to_string(state),
               position);
}

}  // namespace projectord
