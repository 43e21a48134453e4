#include "handlers/side_effects/side_effect.hpp"

namespace projectord::handlers {

std::string idempotency_key(const Event& event) {
  return event.source + ":" + (event.entry_id.empty() ? std::to_string(event.position) : event.entry_id);
}

}  // namespace projectord::handlers
