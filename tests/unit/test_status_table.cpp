#include <catch2/catch.hpp>
#include <sstream>

#include "daemon/cli/status_table.hpp"

using projectord::cli::kReasonWidth;
using projectord::cli::lag_time_text;
using projectord::cli::status_table;
using projectord::cli::StatusRow;

TEST_CASE("a lag in time reads as seconds with a tenth, then minutes and seconds, hours, days") {
  CHECK(lag_time_text(0) == "0s");
  CHECK(lag_time_text(-1) == "0s");
  CHECK(lag_time_text(0.04) == "0s");
  CHECK(lag_time_text(3.21) == "3.2s");
  CHECK(lag_time_text(12) == "12s");
  CHECK(lag_time_text(59.94) == "59.9s");
  CHECK(lag_time_text(59.96) == "1m00s");
  CHECK(lag_time_text(310) == "5m10s");
  CHECK(lag_time_text(3599.4) == "59m59s");
  CHECK(lag_time_text(3600) == "1h00m");
  CHECK(lag_time_text(7530) == "2h05m");
  CHECK(lag_time_text(3 * 86400 + 4 * 3600 + 59) == "3d04h");
}

TEST_CASE("the status table aligns its columns and cuts a long reason with an ellipsis") {
  const std::string long_reason = "a hole has waited 75 s for transaction xid 123456 to end (see pg_stat_activity)";
  const std::string table = status_table({
      {"users", "shop", "idle", "1250", "1250", "0", "0s", "0", ""},
      {"registrations", "shop", "stuck", "7", "1250", "1243", "5m10s", "12", long_reason},
  });
  std::istringstream lines(table);
  std::string header, first, second, extra;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  CHECK_FALSE(std::getline(lines, extra));
  CHECK(header == "HANDLER        SOURCE  STATE  POSITION  HEAD  LAG   LAG TIME  DEAD LETTERS  REASON");
  CHECK(first == "users          shop    idle   1250      1250  0     0s        0");
  CHECK(second.starts_with("registrations  shop    stuck  7         1250  1243  5m10s     12            a hole"));
  const std::string reason = second.substr(header.find("REASON"));
  CHECK(reason == long_reason.substr(0, kReasonWidth - 1) + "\u2026");
}

TEST_CASE("a reason is never cut inside a UTF-8 character") {
  const std::string reason = std::string(kReasonWidth - 2, 'x') + "\u00e9\u00e9\u00e9";  // é is two bytes
  const std::string table = status_table({{"h", "s", "halted", "1", "2", "1", "0s", "0", reason}});
  CHECK_THAT(table, Catch::EndsWith(std::string(kReasonWidth - 2, 'x') + "\u2026\n"));
}
