#pragma once
/// `projectord status`: each handler's checkpoint against the head of its source, read from the databases
/// (so it works whether or not a daemon is running). One line per handler, key=value, e.g.
/// `handler=users kind=users source=shop position=1200 head=1250 lag=50 applied=1200 dead_letters=0 updated_at=...`
/// Errors (a dead letter's, a database's that could not be read) are shown by their class (daemon/error_class.hpp)
/// unless `show_errors`: their text can quote event data, and this output ends up in tickets and chat.
#include <ostream>

#include "config/config.hpp"

namespace projectord {

/// Returns the exit code: 0, or 1 when a database could not be read (the line says why).
int print_status(const config::Config& config, std::ostream& out, bool show_errors);

}  // namespace projectord
