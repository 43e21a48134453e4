#pragma once
/// The [control] section: whether the daemon LISTENs on its NOTIFY control channel and whose commands it
/// obeys there. Role names are compared with the sender's login role, never spliced into SQL, so any name
/// PostgreSQL accepts is allowed except what could not be one (empty, over 63 bytes, control characters,
/// the pseudo-role public).
#include "config/config.hpp"
#include "config/section.hpp"

namespace projectord::config {

/// The checked [control] settings of `s`; problems are reported on `s`.
Control load_control(Section& s);

}  // namespace projectord::config
