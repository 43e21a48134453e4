#pragma once
/// `projectord status [--json] [--show-errors] [--http HOST:PORT]`. Positions, heads and dead letters are
/// read from the databases (daemon/status_report.hpp), so status works with no daemon running; the state of
/// each handler, why it is in it and its lag in time only the running daemon knows, and status asks its
/// /status for them (at --http, or [http] listen). The table (daemon/cli/status_table.hpp) takes its rows
/// from the daemon's /status when it answers, else from the databases with state and lag time "-"; below it,
/// each handler's dead letters (what retry and drop --id take) and a rebuild in progress. `--json` prints the
/// daemon's /status as it answered, or, with no daemon answering, an object of the same field names read
/// from the databases, with "daemon" saying why and the fields only the daemon has null.
/// Errors are shown by their class (daemon/error_class.hpp) unless `show_errors`: their text can quote event
/// data, and this output ends up in tickets and chat.
#include <string>

#include "config/config.hpp"

namespace projectord::cli {

struct StatusOptions {
  bool json = false;
  bool show_errors = false;
  std::string endpoint;  ///< HOST:PORT of the daemon's HTTP endpoint; empty: [http] listen
};

/// 0, or 1 when a database could not be read, or an endpoint --http names did not answer.
int command_status(const config::Config& config, const StatusOptions& options);

}  // namespace projectord::cli
