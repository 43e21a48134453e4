#include "config/upcast_loader.hpp"

#include <algorithm>
#include <tuple>

#include "config/text.hpp"

namespace projectord::config {
namespace {

// A dotted path of keys inside data: no empty key, so "a..b", ".a" and "" are refused here rather than
// making every event that reaches the upcast a poison event.
bool is_data_path(std::string_view path) {
  return !path.empty() && path.front() != '.' && path.back() != '.' && path.find("..") == std::string_view::npos;
}

void check_paths(KindSection& s, std::string_view key, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    if (!is_data_path(path)) s.error(key, in_quotes(path) + " is not a path inside data such as address.zip");
  }
}

std::vector<std::string> keys_of(const StringMap& map) {
  std::vector<std::string> keys;
  for (const auto& entry : map) keys.push_back(entry.first);
  return keys;
}

std::vector<std::string> values_of(const StringMap& map) {
  std::vector<std::string> values;
  for (const auto& entry : map) values.push_back(entry.second);
  return values;
}

Upcast load_upcast(KindSection& s) {
  Upcast upcast{.type = s.str("type"),
                .from_version = s.integer("from_version"),
                .rename = s.string_map("rename"),
                .move = s.string_map("move"),
                .split = {},
                .drop = s.strings("drop"),
                .defaults = s.json_table("default"),
                .line = s.line()};
  if (s.has("type") && upcast.type.empty()) s.error("type", "must not be empty");
  check_paths(s, "rename", keys_of(upcast.rename));
  for (const auto& [path, name] : upcast.rename) {
    if (name.empty() || name.find('.') != std::string::npos) {
      s.error("rename", in_quotes(name) + " is not a key name (use move to change levels)");
    }
  }
  check_paths(s, "move", keys_of(upcast.move));
  check_paths(s, "move", values_of(upcast.move));
  check_paths(s, "drop", upcast.drop);
  std::vector<std::string> default_paths;
  for (const auto& member : upcast.defaults) default_paths.emplace_back(member.key());
  check_paths(s, "default", default_paths);
  for (const auto& [path, parts] : s.json_table("split")) {
    const auto* pair = parts.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string()) {
      s.error("split", std::string(path) + ": expected two paths, e.g. [\"first_name\", \"last_name\"]");
      continue;
    }
    const std::string first((*pair)[0].get_string()), second((*pair)[1].get_string());
    check_paths(s, "split", {std::string(path), first, second});
    upcast.split.emplace(std::string(path), std::pair{first, second});
  }
  constexpr std::string_view kOperations[] = {"rename", "move", "split", "drop", "default"};
  if (s.has("type") && std::ranges::none_of(kOperations, [&](std::string_view key) { return s.has(key); })) {
    s.error("type", "the upcast does nothing: give it rename, move, split, drop or default");
  }
  return upcast;
}

}  // namespace

std::vector<Upcast> load_upcasts(Section& source) {
  std::vector<Upcast> upcasts;
  std::vector<std::string> paths;  // what messages call each upcast: sources.NAME.upcasts[I]
  source.each_table("upcasts", [&](KindSection& s) {
    upcasts.push_back(load_upcast(s));
    paths.push_back(s.path("from_version"));
  });

  std::vector<std::size_t> order(upcasts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::ranges::stable_sort(order, {}, [&](std::size_t i) { return std::tie(upcasts[i].type, upcasts[i].from_version); });
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Upcast& upcast = upcasts[order[k]];
    const Upcast* previous = k > 0 && upcasts[order[k - 1]].type == upcast.type ? &upcasts[order[k - 1]] : nullptr;
    if (previous != nullptr && previous->from_version == upcast.from_version) {
      source.error_at(upcast.line, paths[order[k]],
                      "a second upcast of " + upcast.type + " from version " + std::to_string(upcast.from_version) +
                          " (the first is at line " + std::to_string(previous->line) + ")");
    } else if (previous != nullptr && previous->from_version + 1 != upcast.from_version) {
      source.error_at(upcast.line, paths[order[k]],
                      "the upcasts of " + upcast.type + " have a gap: none from version " +
                          std::to_string(previous->from_version + 1) + ", so a version " +
                          std::to_string(previous->from_version + 1) + " event would never reach version " +
                          std::to_string(upcast.from_version + 1));
    }
  }
  std::vector<Upcast> sorted;
  for (const std::size_t i : order) sorted.push_back(std::move(upcasts[i]));
  return sorted;
}

}  // namespace projectord::config
