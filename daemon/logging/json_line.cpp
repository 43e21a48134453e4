#include "daemon/logging/json_line.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

#include "base/utf8.hpp"
#include "daemon/logging/log_fields.hpp"

namespace projectord::logging {
namespace {

std::string utc_timestamp(std::chrono::system_clock::time_point time) {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];  // -Wformat-truncation sizes each std::tm member as any int
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(since_epoch.count() % 1000));
  return text;
}

}  // namespace

std::string json_log_line(std::chrono::system_clock::time_point time, spdlog::level::level_enum level,
                          std::string_view message) {
  boost::json::object line;
  line["ts"] = utc_timestamp(time);
  const auto level_name = spdlog::level::to_string_view(level);
  line["level"] = std::string_view(level_name.data(), level_name.size());
  line["msg"] = as_text(message);
  if (const auto fields = parse_log_fields(message)) {
    for (const LogField& field : *fields) {
      if (!line.contains(field.key)) line[field.key] = as_text(field.value);
    }
  }
  return boost::json::serialize(line);
}

void JsonLineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string line =
      json_log_line(msg.time, msg.level, std::string_view(msg.payload.data(), msg.payload.size()));
  dest.append(line.data(), line.data() + line.size());
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLineFormatter::clone() const { return std::make_unique<JsonLineFormatter>(); }

}  // namespace projectord::logging
