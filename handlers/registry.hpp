#pragma once
/// Handler kinds by name. The built-in projections are `sql` (statements from config), `event_log` (an
/// append-only log table like the seeds' UserEventLog) and `users` (the seeds' UserProjection read model);
/// the side effects `celery`, `redis_publish` and `webhook` run through the same lane interface
/// (handlers/side_effects/side_effect_handler.hpp).
/// A compiled-in C++ handler implements ProjectionHandler, adds its factory to the table in registry.cpp
/// and its name to the `kind` choices of config/options.cpp (so a config naming it is checked at load).
#include <functional>
#include <memory>

#include "config/config.hpp"
#include "base/result.hpp"
#include "handlers/projection_handler.hpp"

namespace projectord::handlers {

using ProjectionFactory = std::function<Result<std::unique_ptr<ProjectionHandler>>(const config::Handler&)>;

/// Builds the handler for `handler.kind`; an unknown kind or a bad kind-specific setting is an error that
/// names the handler.
Result<std::unique_ptr<ProjectionHandler>> make_projection(const config::Handler& handler);

}  // namespace projectord::handlers
