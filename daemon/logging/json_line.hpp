#pragma once
/// `[daemon] log_format = "json"`: each record one JSON object on one line, `{"ts":..., "level":...,
/// "msg":..., "handler":..., "event":..., ...}`: the time (UTC, milliseconds), spdlog's level name, the
/// message as written, and the message's `key=value` fields (daemon/logging/log_fields.hpp) as string members
/// when it is made of them. Any bytes make valid JSON: malformed UTF-8 and NUL bytes are escaped as in
/// base/utf8.hpp's as_text, and a field named like one of the first three (or twice) stays in `msg` only.
#include <spdlog/formatter.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace projectord::logging {

/// One record as its JSON line, without the newline.
std::string json_log_line(std::chrono::system_clock::time_point time, spdlog::level::level_enum level,
                          std::string_view message);

/// spdlog's formatter writing json_log_line and a newline.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace projectord::logging
