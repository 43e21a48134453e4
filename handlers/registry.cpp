#include "handlers/registry.hpp"

#include <map>
#include <mutex>

#include "handlers/event_log_handler.hpp"
#include "handlers/sql_handler.hpp"
#include "handlers/users_handler.hpp"

namespace projectord::handlers {

namespace {

// Built-ins are listed here rather than self-registered from static objects: a static library drops
// object files nothing references, and with them their registrations.
std::map<std::string, ProjectionFactory>& kinds() {
  static std::map<std::string, ProjectionFactory> registry = {
      {"sql", &SqlHandler::make},
      {"event_log", &EventLogHandler::make},
      {"users", &UsersHandler::make},
  };
  return registry;
}

std::mutex registry_mutex;

}  // namespace

void register_projection_kind(const std::string& kind, ProjectionFactory factory) {
  std::lock_guard lock(registry_mutex);
  kinds()[kind] = std::move(factory);
}

Result<std::unique_ptr<ProjectionHandler>> make_projection(const config::Handler& handler) {
  std::lock_guard lock(registry_mutex);
  const auto found = kinds().find(handler.kind);
  if (found == kinds().end()) return fail("handler " + handler.name + ": unknown kind '" + handler.kind + "'");
  return found->second(handler);
}

std::vector<std::string> projection_kinds() {
  std::lock_guard lock(registry_mutex);
  std::vector<std::string> names;
  for (const auto& [name, factory] : kinds()) names.push_back(name);
  return names;
}

}  // namespace projectord::handlers
