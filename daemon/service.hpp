#pragma once
/// `projectord run`: builds a lane per handler and a NOTIFY listener per source, runs until SIGTERM/SIGINT
/// (each lane finishes or rolls back its batch in flight, then the process exits 0), or with
/// exit_when_caught_up until every lane has reached the head of its source.
#include "config/config.hpp"

namespace projectord {

struct RunOptions {
  bool exit_when_caught_up = false;
};

/// Returns the process exit code: 0 after a clean stop, 1 on a start-up error or when a one-shot catch-up
/// (exit_when_caught_up) ends with a halted handler.
int run_service(const config::Config& config, RunOptions options);

}  // namespace projectord
