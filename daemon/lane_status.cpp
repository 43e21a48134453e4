#include "daemon/lane_status.hpp"

namespace projectord {

std::string_view to_string(LaneState state) {
  switch (state) {
    case LaneState::starting:
      return "starting";
    case LaneState::catching_up:
      return "catching_up";
    case LaneState::idle:
      return "idle";
    case LaneState::waiting_for_hole:
      return "waiting_for_hole";
    case LaneState::waiting_for_consumer:
      return "waiting_for_consumer";
    case LaneState::waiting_for_connection:
      return "waiting_for_connection";
    case LaneState::reconnecting:
      return "reconnecting";
    case LaneState::retrying:
      return "retrying";
    case LaneState::paused:
      return "paused";
    case LaneState::halted:
      return "halted";
    case LaneState::source_rewound:
      return "source_rewound";
    case LaneState::stopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace projectord
