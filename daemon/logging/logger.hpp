#pragma once
/// Where and how the daemon logs (`[daemon] log_level` and `log_format`). Under systemd, with stderr the
/// journal's stream (journal_sink.hpp), every record goes to the journal with its fields and log_format does
/// not apply. Otherwise records go to stderr (stdout belongs to command output): "text" as
/// `TIME LEVEL MESSAGE` lines whose message has any control character or malformed UTF-8 escaped, so no
/// record takes two lines, or "json" as one object per line (json_line.hpp).
#include <memory>
#include <spdlog/formatter.h>
#include <string_view>

#include "config/config.hpp"

namespace projectord::logging {

/// The formatter of a log_format: "json", or anything else for text.
std::unique_ptr<spdlog::formatter> formatter_for(std::string_view log_format);

/// Makes the default logger the journal's or stderr's, then applies `settings`.
void install_logger(const config::Daemon& settings);

/// The level and format of `settings` for the default logger (a reload changes both in place).
void apply_log_settings(const config::Daemon& settings);

}  // namespace projectord::logging
