#pragma once
/// The handler kinds of this process: the built-in ones (handlers/builtin_kinds.hpp) and those its main
/// registers, e.g. a team's own projection compiled into its own daemon (daemon/cli/daemon_main.hpp). A kind
/// is what the loader knows of it (config/handler_kind.hpp: name, option rows, load) and the factory that
/// builds its handler from a loaded [handlers.NAME]. The registry closes when the option table is first
/// used, before any config is loaded, so every config of the process is checked against the same kinds.
#include <functional>
#include <memory>

#include "base/result.hpp"
#include "config/config.hpp"
#include "config/handler_kind.hpp"
#include "config/option_table.hpp"
#include "handlers/projection_handler.hpp"

namespace projectord::handlers {

using ProjectionFactory = std::function<Result<std::unique_ptr<ProjectionHandler>>(const config::Handler&)>;

struct Kind {
  config::HandlerKind schema;
  /// An error names the handler and the bad setting.
  ProjectionFactory make;
};

/// Adds `kind` to the built-in ones. Throws std::logic_error for a name already registered, or once the
/// option table has been used.
void register_kind(Kind kind);

/// The option table of every registered kind: what configs are loaded against and `--help` prints.
const config::OptionTable& option_table();

/// Builds the handler for `handler.kind`; an unknown kind or a bad kind-specific setting is an error that
/// names the handler.
Result<std::unique_ptr<ProjectionHandler>> make_projection(const config::Handler& handler);

}  // namespace projectord::handlers
