#include "handlers/registry.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "handlers/builtin_kinds.hpp"

namespace projectord::handlers {
namespace {

// Listed rather than self-registered from static objects: a static library drops object files that nothing
// references, and with them their registrations.
struct Registry {
  std::mutex mutex;
  std::vector<Kind> kinds = builtin_kinds();
  std::unique_ptr<const config::OptionTable> table;  ///< set on first use; no registration after
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

void register_kind(Kind kind) {
  Registry& r = registry();
  const std::scoped_lock lock(r.mutex);
  if (r.table != nullptr) {
    throw std::logic_error("handler kind " + kind.schema.name + " registered after the option table was used");
  }
  if (std::ranges::any_of(r.kinds, [&](const Kind& k) { return k.schema.name == kind.schema.name; })) {
    throw std::logic_error("handler kind " + kind.schema.name + " is registered already");
  }
  r.kinds.push_back(std::move(kind));
}

const config::OptionTable& option_table() {
  Registry& r = registry();
  const std::scoped_lock lock(r.mutex);
  if (r.table == nullptr) {
    std::vector<config::HandlerKind> schemas;
    for (const Kind& kind : r.kinds) schemas.push_back(kind.schema);
    r.table = std::make_unique<const config::OptionTable>(std::move(schemas));
  }
  return *r.table;
}

Result<std::unique_ptr<ProjectionHandler>> make_projection(const config::Handler& handler) {
  Registry& r = registry();
  ProjectionFactory make;
  {
    const std::scoped_lock lock(r.mutex);
    const auto found = std::ranges::find_if(r.kinds, [&](const Kind& k) { return k.schema.name == handler.kind; });
    if (found != r.kinds.end()) make = found->make;
  }
  if (!make) return fail("handler " + handler.name + ": unknown kind '" + handler.kind + "'");
  return make(handler);
}

}  // namespace projectord::handlers
