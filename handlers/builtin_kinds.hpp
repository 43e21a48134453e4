#pragma once
/// The handler kinds projectord ships: the projections `sql` (statements from config), `event_log` (an
/// append-only log table like the Django guide's `user_event_log`) and `users` (the Django guide's
/// `user_projection` read model), and the side effects `webhook`, `celery` and `redis_publish`, which run
/// through the same lane interface (handlers/side_effects/side_effect_handler.hpp).
#include <vector>

#include "handlers/registry.hpp"

namespace projectord::handlers {

/// In the order `--help` lists them.
std::vector<Kind> builtin_kinds();

}  // namespace projectord::handlers
