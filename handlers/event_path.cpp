#include "handlers/event_path.hpp"

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <utility>

namespace projectord::handlers {
namespace {

namespace json = boost::json;

// The JSON value's parameter text: SQL NULL for JSON null, strings without their quotes, anything else in its
// compact JSON spelling (which is also what PostgreSQL's numeric, boolean and json inputs accept).
std::optional<std::string> to_parameter(const json::value& v) {
  if (v.is_null()) return std::nullopt;
  if (const json::string* s = v.if_string()) return std::string(s->data(), s->size());
  return json::serialize(v);
}

// One step down: a key of an object, or a decimal index of an array. Anything else has no such child.
const json::value* child(const json::value& v, std::string_view key) {
  if (const json::object* object = v.if_object()) return object->if_contains(key);
  if (const json::array* array = v.if_array()) {
    std::size_t index = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
    if (ec != std::errc() || end != key.data() + key.size()) return nullptr;
    return array->if_contains(index);
  }
  return nullptr;
}

}  // namespace

Result<EventPath> EventPath::parse(std::string_view text) {
  constexpr std::array<std::pair<std::string_view, Root>, 9> kRoots{{
      {"position", Root::position},
      {"entry_id", Root::entry_id},
      {"stream_id", Root::stream_id},
      {"version", Root::version},
      {"type", Root::type},
      {"recorded_at", Root::recorded_at},
      {"source", Root::source},
      {"data", Root::data},
      {"metadata", Root::metadata},
  }};
  const auto bad = [text](std::string_view why) {
    return "event path \"" + std::string(text) + "\": " + std::string(why);
  };

  const std::size_t dot = text.find('.');
  const std::string_view root_name = text.substr(0, dot);
  const auto* found =
      std::find_if(kRoots.begin(), kRoots.end(), [root_name](const auto& r) { return r.first == root_name; });
  if (found == kRoots.end()) {
    return bad("unknown root \"" + std::string(root_name) +
               "\" (expected position, entry_id, stream_id, version, type, recorded_at, source, data or metadata)");
  }
  const Root root = found->second;

  std::vector<std::string> keys;
  if (dot != std::string_view::npos) {
    if (root != Root::data && root != Root::metadata) return bad(std::string(root_name) + " has no fields");
    std::string_view rest = text.substr(dot + 1);
    while (true) {
      const std::size_t next = rest.find('.');
      const std::string_view key = rest.substr(0, next);
      if (key.empty()) return bad("empty segment");
      keys.emplace_back(key);
      if (next == std::string_view::npos) break;
      rest = rest.substr(next + 1);
    }
  }
  return EventPath(std::string(text), root, std::move(keys));
}

std::optional<std::string> EventPath::evaluate(const Event& event) const {
  switch (root_) {
    case Root::position:
      return std::to_string(event.position);
    case Root::entry_id:
      if (event.entry_id.empty()) return std::nullopt;
      return event.entry_id;
    case Root::stream_id:
      return event.stream_id;
    case Root::version:
      return std::to_string(event.version);
    case Root::type:
      return event.type;
    case Root::recorded_at:
      // '' is not a timestamptz; a store without a time must bind NULL.
      if (event.recorded_at.empty()) return std::nullopt;
      return event.recorded_at;
    case Root::source:
      return event.source;
    case Root::data:
    case Root::metadata:
      break;
  }
  const json::value* v = root_ == Root::data ? &event.data : &event.metadata;
  for (const std::string& key : keys_) {
    v = child(*v, key);
    if (v == nullptr) return std::nullopt;
  }
  return to_parameter(*v);
}

json::value EventPath::evaluate_json(const Event& event) const {
  switch (root_) {
    case Root::position:
      return event.position;
    case Root::version:
      return event.version;
    case Root::data:
    case Root::metadata:
      break;
    default:
      if (auto text = evaluate(event)) return json::string(*text);
      return nullptr;
  }
  const json::value* v = root_ == Root::data ? &event.data : &event.metadata;
  for (const std::string& key : keys_) {
    v = child(*v, key);
    if (v == nullptr) return nullptr;
  }
  return *v;
}

}  // namespace projectord::handlers
