#include "handlers/registry.hpp"

#include <map>
#include <string>

#include "handlers/event_log_handler.hpp"
#include "handlers/side_effects/celery_task.hpp"
#include "handlers/side_effects/redis_publish.hpp"
#include "handlers/side_effects/side_effect_handler.hpp"
#include "handlers/side_effects/webhook.hpp"
#include "handlers/sql_handler.hpp"
#include "handlers/users_handler.hpp"

namespace projectord::handlers {

namespace {

// A side effect runs in a lane like a projection (handlers/side_effects/side_effect_handler.hpp).
template <class Effect>
Result<std::unique_ptr<ProjectionHandler>> side_effect(const config::Handler& handler) {
  auto effect = Effect::make(handler);
  if (!effect) return fail(effect.error());
  return std::unique_ptr<ProjectionHandler>(std::make_unique<SideEffectHandler>(handler.name, std::move(*effect)));
}

// Listed here rather than self-registered from static objects: a static library drops object files that
// nothing references, and with them their registrations.
const std::map<std::string, ProjectionFactory, std::less<>>& kinds() {
  static const std::map<std::string, ProjectionFactory, std::less<>> registry = {
      {"sql", &SqlHandler::make},
      {"event_log", &EventLogHandler::make},
      {"users", &UsersHandler::make},
      {"celery", &side_effect<CeleryTask>},
      {"redis_publish", &side_effect<RedisPublish>},
      {"webhook", &side_effect<Webhook>},
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
