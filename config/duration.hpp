#pragma once
/// Durations in config files: an integer with a unit, "250ms", "1s", "10min", "2h" ("0" alone is allowed).
#include <string_view>

#include "config/config.hpp"
#include "base/result.hpp"

namespace projectord::config {

Result<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);  ///< the shortest exact spelling: "1s", "500ms", "10min"

}  // namespace projectord::config
