#pragma once
/// The table `projectord status` prints: one row per handler, columns aligned to their widest cell, a reason
/// longer than kReasonWidth cut with an ellipsis (the full text is in `status --json`).
#include <cstddef>
#include <string>
#include <vector>

namespace projectord::cli {

struct StatusRow {
  std::string handler;
  std::string source;
  std::string state;
  std::string position;
  std::string head;
  std::string lag;       ///< events
  std::string lag_time;  ///< lag_time_text, or "-" when nobody knows it
  std::string dead_letters;
  std::string reason;  ///< empty when there is nothing to explain
};

inline constexpr std::size_t kReasonWidth = 60;

/// The header line and one line per row.
std::string status_table(const std::vector<StatusRow>& rows);

/// A lag in seconds as a person reads it: "0s", "3.2s", "59.9s", "5m10s", "2h05m", "3d04h".
std::string lag_time_text(double seconds);

}  // namespace projectord::cli
