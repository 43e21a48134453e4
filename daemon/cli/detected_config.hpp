#pragma once
/// The config `projectord detect` prints for the stores it found (daemon/cli/store_detection.hpp): TOML that
/// the loader takes as it is, so that `projectord detect URL > projectord.toml` is followed by `migrate` and
/// `run`. One source per store (per application for eventsourcing_django) with its preset, table,
/// application_name and the codec its payloads were taken for, each doubt a comment beside it; beside each
/// source the Django guide's `users` and `event_log` handlers, commented out for the team to pick. Source
/// and handler names follow the loader's rule (a-z, 0-9, _) and are unique; read-model tables are the
/// guide's, suffixed with the source's name when there are several sources. The database URL is never
/// written: `[database] url` reads `${DATABASE_URL}` from the environment.
#include <string>

#include "daemon/cli/store_detection.hpp"

namespace projectord::cli {

/// The config for `detection`, which has at least one store.
std::string detected_config(const Detection& detection);

}  // namespace projectord::cli
