#pragma once
/// The `users` handler's read model (handlers/users_handler.hpp) declared as a kind `sql` handler, as a user
/// would write it in TOML: one [[statements]] per event type over the Django guide's user_projection table,
/// which the Django project's migration creates (so the handler has no `setup`). Same per-event semantics as
/// the compiled handler, so its model must equal the set-based reference.
#include <string>

#include "bench/support/store.hpp"

namespace projectord::bench {

/// Handler `name` writing `table`, a table shaped like user_projection.
HandlerConfig sql_users_handler(const std::string& name, const std::string& table);

}  // namespace projectord::bench
