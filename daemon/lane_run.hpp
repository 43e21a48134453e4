#pragma once
/// One lane on its own thread, as the supervisor keeps it: the handler it was started with, the lane, and
/// the thread that runs it. Destroying it joins the thread (declared after the lane, so joined first).
#include <cstdint>
#include <memory>
#include <thread>

#include "config/config.hpp"
#include "daemon/lane.hpp"

namespace projectord {

struct LaneRun {
  std::uint64_t id = 0;
  config::Handler handler;
  std::unique_ptr<Lane> lane;
  std::jthread thread;
  bool finished = false;          ///< its thread has returned; kept so that its final status is reported
  bool stopped_for_swap = false;  ///< a rebuild asked it to stop; a fresh lane replaces it after the swap
};

}  // namespace projectord
