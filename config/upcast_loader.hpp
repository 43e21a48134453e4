#pragma once
/// Loads a source's [[sources.NAME.upcasts]] tables (rows of section "sources.*.upcasts" in
/// config/options.cpp) into config::Upcast values, and checks what no single table can show: each event
/// type's upcasts form one chain without a gap or a repeat (upcasts from 1 and 3 but not 2 would leave a
/// version 2 event unreachable by version 3 statements). Errors go to the section's diagnostics, each at
/// the line of the upcast at fault.
#include <vector>

#include "config/config.hpp"
#include "config/section.hpp"

namespace projectord::config {

/// The source's upcasts, ordered by type, then from_version.
std::vector<Upcast> load_upcasts(Section& source);

}  // namespace projectord::config
