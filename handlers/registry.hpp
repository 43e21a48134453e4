#pragma once
/// Projection kinds by name. The built-in kinds are `sql` (statements from config), `event_log` (an
/// append-only log table like the seeds' UserEventLog) and `users` (the seeds' UserProjection read model).
/// A compiled-in C++ handler registers its kind with `register_projection_kind` before the config loads.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/result.hpp"
#include "handlers/projection_handler.hpp"

namespace projectord::handlers {

using ProjectionFactory = std::function<Result<std::unique_ptr<ProjectionHandler>>(const config::Handler&)>;

void register_projection_kind(const std::string& kind, ProjectionFactory factory);

/// Builds the handler for `handler.kind`; an unknown kind or a bad kind-specific setting is an error that
/// names the handler.
Result<std::unique_ptr<ProjectionHandler>> make_projection(const config::Handler& handler);

std::vector<std::string> projection_kinds();

}  // namespace projectord::handlers
