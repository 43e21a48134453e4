#pragma once
/// `projectord pause|resume|skip|rebuild|retry|drop|reset-checkpoint HANDLER`: asks the running daemon, over
/// its HTTP admin endpoint, to act on one handler, with the configured admin token. Prints the daemon's answer
/// (its outcome and message); exit 0 when it accepted. `projectord status` reads the daemon's /status the
/// same way.
#include <string>

#include "base/result.hpp"
#include "config/config.hpp"

namespace projectord::cli {

/// `endpoint` is HOST:PORT of the daemon's HTTP endpoint; empty: [http] listen of the config. `query` goes
/// with the call (rebuild: max_rate=N; reset-checkpoint: to=N).
int command_admin(const config::Config& config, const std::string& action, const std::string& handler,
                  const std::string& endpoint, const std::string& query);

/// The body of the running daemon's GET /status at `endpoint` (empty: [http] listen); with the admin token
/// when `with_token` (the errors' text is in it then).
Result<std::string> daemon_status(const config::Config& config, const std::string& endpoint, bool with_token);

}  // namespace projectord::cli
