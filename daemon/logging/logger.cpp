#include "daemon/logging/logger.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/printable.hpp"
#include "base/utf8.hpp"
#include "daemon/logging/journal_sink.hpp"
#include "daemon/logging/json_line.hpp"

namespace projectord::logging {
namespace {

bool is_one_line(std::string_view text) {
  return is_text(text) && std::ranges::none_of(text, [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// The messages the daemon writes are one line already (their outside values pass through log_value); this
// keeps a library's or a forgotten call site's message from starting a second, forged record.
class TextLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (is_one_line(payload)) {
      pattern_.format(msg, dest);
      return;
    }
    const std::string escaped = printable(payload, payload.size());
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    pattern_.format(copy, dest);
    msg.color_range_start = copy.color_range_start;
    msg.color_range_end = copy.color_range_end;
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextLineFormatter>(); }

 private:
  spdlog::pattern_formatter pattern_{"%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v"};
};

}  // namespace

std::unique_ptr<spdlog::formatter> formatter_for(std::string_view log_format) {
  if (log_format == "json") return std::make_unique<JsonLineFormatter>();
  return std::make_unique<TextLineFormatter>();
}

void install_logger(const config::Daemon& settings) {
  if (stderr_is_journal()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("projectord", std::make_shared<JournalSink>()));
  } else {
    spdlog::set_default_logger(spdlog::stderr_color_mt("projectord"));
  }
  apply_log_settings(settings);
}

void apply_log_settings(const config::Daemon& settings) {
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  for (const auto& sink : spdlog::default_logger()->sinks()) {
    if (dynamic_cast<JournalSink*>(sink.get()) == nullptr) sink->set_formatter(formatter_for(settings.log_format));
  }
}

}  // namespace projectord::logging
