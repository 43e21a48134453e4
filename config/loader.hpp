#pragma once
/// Loads and validates a projectord TOML config file.
///
/// `${NAME}` in any string value is replaced by the environment variable NAME (an unset variable is an
/// error naming it; `$${` escapes a literal `${`); `${NAME:-default}` falls back to the default. A key whose
/// name ends in `_file` (e.g. `url_file`) reads the value from that file instead, so secrets can come from
/// files (systemd credentials). Errors are returned, never thrown, each as "FILE:LINE: KEY: what is wrong";
/// all errors of a file are collected, not just the first.
#include <string>
#include <vector>

#include "config/config.hpp"

namespace projectord::config {

struct LoadResult {
  Config config;  ///< meaningful only when errors is empty
  std::vector<std::string>
      errors;  ///< "projectord.toml:12: handlers.users.on_error: expected one of stop, dead_letter"
  bool ok() const { return errors.empty(); }
};

LoadResult load_config(const std::string& path);
/// Same, from text already in memory; `path` is only used in messages. Used by tests and reload.
LoadResult load_config_text(const std::string& text, const std::string& path);

}  // namespace projectord::config
