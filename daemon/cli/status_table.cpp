#include "daemon/cli/status_table.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>
#include <string_view>

namespace projectord::cli {
namespace {

constexpr std::size_t kColumns = 9;
constexpr std::array<const char*, kColumns> kHeaders{"HANDLER", "SOURCE",      "STATE",        "POSITION", "HEAD",
                                                     "LAG",     "LAG TIME",    "DEAD LETTERS", "REASON"};
constexpr std::string_view kEllipsis = "\u2026";

std::array<std::string, kColumns> cells(const StatusRow& row) {
  std::string reason = row.reason;
  if (reason.size() > kReasonWidth) {
    // Cut at a character's first byte, never inside a UTF-8 sequence.
    std::size_t cut = kReasonWidth - 1;
    while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut) + std::string(kEllipsis);
  }
  return {row.handler, row.source, row.state, row.position, row.head, row.lag, row.lag_time, row.dead_letters, reason};
}

}  // namespace

std::string status_table(const std::vector<StatusRow>& rows) {
  std::vector<std::array<std::string, kColumns>> lines(1);
  std::ranges::copy(kHeaders, lines.front().begin());
  for (const StatusRow& row : rows) lines.push_back(cells(row));
  std::array<std::size_t, kColumns> widths{};
  for (const auto& line : lines) {
    for (std::size_t column = 0; column < kColumns; ++column) {
      widths[column] = std::max(widths[column], line[column].size());
    }
  }
  std::string out;
  for (const auto& line : lines) {
    std::string text;
    for (std::size_t column = 0; column < kColumns; ++column) {
      text += line[column];
      // The last column is not padded: no line ends in blanks.
      if (column + 1 < kColumns) text += std::string(widths[column] - line[column].size() + 2, ' ');
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + "\n";
  }
  return out;
}

std::string lag_time_text(double seconds) {
  if (!(seconds > 0)) return "0s";
  if (seconds < 59.95) {
    const std::string text = fmt::format("{:.1f}", seconds);
    return (text.ends_with(".0") ? text.substr(0, text.size() - 2) : text) + "s";
  }
  const auto whole = static_cast<long long>(std::llround(seconds));
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  if (whole < 86400) return fmt::format("{}h{:02}m", whole / 3600, whole % 3600 / 60);
  return fmt::format("{}d{:02}h", whole / 86400, whole % 86400 / 3600);
}

}  // namespace projectord::cli
