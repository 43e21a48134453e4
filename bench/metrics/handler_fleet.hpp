#pragma once
/// The many handlers bench-metrics configures, one source for all: every fourth an `event_log` (a row per
/// event, written with COPY, into its own copy of the Django guide's user_event_log), the others `sql` handlers
/// that take one event type each and count it per stream in their own table (one statement per event).
/// Handler NAME writes table NAME.
#include <cstddef>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "bench/support/report.hpp"
#include "bench/support/store.hpp"

namespace projectord::bench {

/// `count` handlers, named fleet_000, fleet_001, ...
std::vector<HandlerConfig> handler_fleet(std::size_t count);

/// How many of handler_fleet(count) are of kind event_log.
std::size_t event_log_handlers(std::size_t count);

/// One check: every read model of the fleet holds exactly the events of kApplication in stored_events that
/// its handler takes (each event once).
void check_fleet(Checks& checks, pqxx::connection& connection, const std::vector<HandlerConfig>& fleet);

}  // namespace projectord::bench
