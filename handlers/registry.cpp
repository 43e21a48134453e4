#include "handlers/registry.hpp"

#include <map>
#include <string>

#include "handlers/event_log_handler.hpp"
#include "handlers/sql_handler.hpp"
#include "handlers/users_handler.hpp"

namespace projectord::handlers {

namespace {

// Listed here rather than self-registered from static objects: a static library drops object files that
// nothing references, and with them their registrations.
const std::map<std::string, ProjectionFactory, std::less<>>& kinds() {
  static const std::map<std::string, ProjectionFactory, std::less<>> registry = {
      {"sql", &SqlHandler::make},
      {"event_log", &EventLogHandler::make},
      {"users", &UsersHandler::make},
  };
  return registry;
}

}  // namespace

Result<std::unique_ptr<ProjectionHandler>> make_projection(const config::Handler& handler) {
  const auto found = kinds().find(handler.kind);
  if (found == kinds().end()) return fail("handler " + handler.name + ": unknown kind '" + handler.kind + "'");
  return found->second(handler);
}

}  // namespace projectord::handlers
