#include "config/duration.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace projectord::config {
namespace {

// Largest unit first: format_duration picks the first that divides exactly.
constexpr std::array<std::pair<std::string_view, std::int64_t>, 4> kUnits{{
    {"h", 3'600'000},
    {"min", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

// How messages name the text: `duration "5m"`.
std::string named(std::string_view text) { return "duration \"" + std::string(text) + "\""; }

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (!text.empty() && text.front() == '-') return named(text) + " is negative";
  std::int64_t count = 0;
  const char* digits_end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), digits_end, count);
  if (rest == text.data() || ec == std::errc::invalid_argument) {
    return "invalid " + named(text) + ": expected an integer and a unit (ms, s, min, h), e.g. \"250ms\"";
  }
  if (ec == std::errc::result_out_of_range) return named(text) + " is too large";
  const std::string_view unit(rest, static_cast<std::size_t>(digits_end - rest));
  if (unit.empty()) return named(text) + " has no unit: write e.g. \"" + std::string(text) + "s\"";
  for (const auto& [name, millis] : kUnits) {
    if (unit != name) continue;
    if (count > std::numeric_limits<std::int64_t>::max() / millis) {
      return named(text) + " is too large";
    }
    return Duration{count * millis};
  }
  return named(text) + " has unknown unit \"" + std::string(unit) + "\": use ms, s, min or h";
}

std::string format_duration(Duration d) {
  const std::int64_t millis = d.count();
  if (millis == 0) return "0";
  // "ms" divides everything, so a unit is always found.
  const auto& [name, unit_millis] =
      *std::find_if(kUnits.begin(), kUnits.end(), [&](const auto& unit) { return millis % unit.second == 0; });
  return std::to_string(millis / unit_millis) + std::string(name);
}

}  // namespace projectord::config
