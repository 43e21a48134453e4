#pragma once
/// `projectord pause|resume|skip|rebuild|retry|drop|reset-checkpoint HANDLER`: asks the running daemon, over
/// its HTTP admin endpoint, to act on one handler, with the configured admin token. Prints the daemon's answer
/// (its outcome and message); exit 0 when it accepted.
#include <string>

#include "config/config.hpp"

namespace projectord::cli {

/// `endpoint` is HOST:PORT of the daemon's HTTP endpoint; empty: [http] listen of the config. `query` goes
/// with the call (rebuild: max_rate=N; reset-checkpoint: to=N).
int command_admin(const config::Config& config, const std::string& action, const std::string& handler,
                  const std::string& endpoint, const std::string& query);

}  // namespace projectord::cli
