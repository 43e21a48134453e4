#include "sources/json_path.hpp"

#include <string>

namespace projectord::sources {

Result<PathSlot> slot_of(boost::json::object& root, std::string_view path, bool create) {
  boost::json::object* object = &root;
  std::string_view rest = path;
  for (auto dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
    const std::string_view key = rest.substr(0, dot);
    boost::json::value* next = object->if_contains(key);
    if (next == nullptr) {
      if (!create) return PathSlot{nullptr, rest.substr(rest.rfind('.') + 1)};
      next = &object->emplace(key, boost::json::object()).first->value();
    }
    if (!next->is_object()) {
      return fail("'" + std::string(path.substr(0, path.size() - rest.size() + dot)) + "' is not an object");
    }
    object = &next->as_object();
    rest = rest.substr(dot + 1);
  }
  return PathSlot{object, rest};
}

Result<const boost::json::value*> find_path(const boost::json::object& root, std::string_view path) {
  // slot_of changes nothing without `create`.
  auto slot = slot_of(const_cast<boost::json::object&>(root), path, false);
  if (!slot) return fail(slot.error());
  if (slot->parent == nullptr) return static_cast<const boost::json::value*>(nullptr);
  return static_cast<const boost::json::value*>(slot->parent->if_contains(slot->key));
}

}  // namespace projectord::sources
