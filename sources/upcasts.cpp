#include "sources/upcasts.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "base/event_type.hpp"
#include "sources/json_path.hpp"

namespace projectord::sources {
namespace {

using boost::json::object;
using boost::json::value;

// Sets `path` to `item` where nothing is: an upcast never overwrites what the event holds.
Result<void> put(object& data, const std::string& path, value item) {
  auto slot = slot_of(data, path, true);
  if (!slot) return fail(slot.error());
  if (slot->parent->contains(slot->key)) return fail("'" + path + "' is already set");
  slot->parent->emplace(slot->key, std::move(item));
  return {};
}

// Takes the value at `path` out of the data; nullopt when it is missing.
Result<std::optional<value>> take(object& data, const std::string& path) {
  auto slot = slot_of(data, path, false);
  if (!slot) return fail(slot.error());
  if (slot->parent == nullptr) return std::optional<value>();
  const auto found = slot->parent->find(slot->key);
  if (found == slot->parent->end()) return std::optional<value>();
  value taken = std::move(found->value());
  slot->parent->erase(found);
  return std::optional<value>(std::move(taken));
}

Result<void> rename_key(object& data, const std::string& path, const std::string& name) {
  const auto dot = path.rfind('.');
  const std::string target = dot == std::string::npos ? name : path.substr(0, dot + 1) + name;
  auto taken = take(data, path);
  if (!taken) return fail(taken.error());
  if (!*taken) return {};
  return put(data, target, std::move(**taken));
}

Result<void> move_value(object& data, const std::string& from, const std::string& to) {
  auto taken = take(data, from);
  if (!taken) return fail(taken.error());
  if (!*taken) return {};
  return put(data, to, std::move(**taken));
}

// At the first space: "Ada Lovelace King" is "Ada" and "Lovelace King"; without a space the second is "".
Result<void> split_string(object& data, const std::string& path, const std::pair<std::string, std::string>& parts) {
  auto taken = take(data, path);
  if (!taken) return fail(taken.error());
  if (!*taken) return {};
  if (!(*taken)->is_string()) return fail("'" + path + "' is not a string");
  const std::string_view text = (*taken)->get_string();
  const auto space = text.find(' ');
  const std::string_view first = text.substr(0, space);
  const std::string_view second = space == std::string_view::npos ? "" : text.substr(space + 1);
  if (auto done = put(data, parts.first, value(first)); !done) return done;
  return put(data, parts.second, value(second));
}

Result<void> drop_path(object& data, const std::string& path) {
  auto taken = take(data, path);
  if (!taken) return fail(taken.error());
  return {};
}

Result<void> set_default(object& data, const std::string& path, const value& item) {
  auto slot = slot_of(data, path, true);
  if (!slot) return fail(slot.error());
  if (!slot->parent->contains(slot->key)) slot->parent->emplace(slot->key, item);
  return {};
}

Result<void> apply(const config::Upcast& upcast, object& data) {
  for (const auto& [path, name] : upcast.rename) {
    if (auto done = rename_key(data, path, name); !done) return fail("rename " + path + ": " + done.error());
  }
  for (const auto& [from, to] : upcast.move) {
    if (auto done = move_value(data, from, to); !done) return fail("move " + from + ": " + done.error());
  }
  for (const auto& [path, parts] : upcast.split) {
    if (auto done = split_string(data, path, parts); !done) return fail("split " + path + ": " + done.error());
  }
  for (const std::string& path : upcast.drop) {
    if (auto done = drop_path(data, path); !done) return fail("drop " + path + ": " + done.error());
  }
  for (const auto& member : upcast.defaults) {
    const std::string path(member.key());
    if (auto done = set_default(data, path, member.value()); !done) return fail("default " + path + ": " + done.error());
  }
  return {};
}

}  // namespace

Result<void> apply_upcasts(const std::vector<config::Upcast>& upcasts, Event& event) {
  for (;;) {
    const auto next = std::ranges::find_if(upcasts, [&](const config::Upcast& upcast) {
      return upcast.from_version == event.schema_version && type_matches(upcast.type, event.type);
    });
    if (next == upcasts.end()) return {};
    const auto failed = [&](const std::string& why) {
      return fail("upcast of line " + std::to_string(next->line) + " (" + next->type + " from version " +
                  std::to_string(next->from_version) + ") cannot apply: " + why);
    };
    if (!event.data.is_object()) return failed("data is not an object");
    if (auto done = apply(*next, event.data.as_object()); !done) return failed(done.error());
    ++event.schema_version;
  }
}

}  // namespace projectord::sources
