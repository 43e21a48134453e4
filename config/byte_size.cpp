#include "config/byte_size.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace projectord::config {
namespace {

// Largest unit first: format_byte_size picks the first that divides exactly.
constexpr std::array<std::pair<std::string_view, std::int64_t>, 4> kByteUnits{{
    {"GiB", std::int64_t{1} << 30},
    {"MiB", std::int64_t{1} << 20},
    {"KiB", std::int64_t{1} << 10},
    {"B", 1},
}};

// How messages name the text: `byte size "16MB"`.
std::string named_size(std::string_view text) { return "byte size \"" + std::string(text) + "\""; }

}  // namespace

Result<std::int64_t> parse_byte_size(std::string_view text) {
  if (!text.empty() && text.front() == '-') return fail(named_size(text) + " is negative");
  std::int64_t count = 0;
  const char* digits_end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), digits_end, count);
  if (rest == text.data() || ec == std::errc::invalid_argument) {
    return fail("invalid " + named_size(text) + ": expected an integer and a unit (B, KiB, MiB, GiB), e.g. \"16MiB\"");
  }
  if (ec == std::errc::result_out_of_range) return fail(named_size(text) + " is too large");
  const std::string_view unit(rest, static_cast<std::size_t>(digits_end - rest));
  if (unit.empty()) return fail(named_size(text) + " has no unit: write e.g. \"" + std::string(text) + "MiB\"");
  for (const auto& [name, bytes] : kByteUnits) {
    if (unit != name) continue;
    if (count > std::numeric_limits<std::int64_t>::max() / bytes) return fail(named_size(text) + " is too large");
    return count * bytes;
  }
  return fail(named_size(text) + " has unknown unit \"" + std::string(unit) + "\": use B, KiB, MiB or GiB");
}

std::string format_byte_size(std::int64_t bytes) {
  if (bytes == 0) return "0B";
  // "B" divides everything, so a unit is always found.
  const auto& [name, unit_bytes] =
      *std::find_if(kByteUnits.begin(), kByteUnits.end(), [&](const auto& unit) { return bytes % unit.second == 0; });
  return std::to_string(bytes / unit_bytes) + std::string(name);
}

}  // namespace projectord::config
