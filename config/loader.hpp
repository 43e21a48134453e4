#pragma once
/// Loads and validates a projectord TOML config file against an option table (config/option_table.hpp),
/// whose handler kinds are the ones the process registered (handlers/registry.hpp).
///
/// Values may come from the environment or from files (config/interpolation.hpp); every key is checked
/// against its row (config/section.hpp), then mapped to the structs of config/config.hpp, a handler's kind
/// mapping its own keys. Errors are returned, never thrown, each as "FILE:LINE: KEY: what is wrong"; all
/// errors of a file are collected, not just the first.
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/option_table.hpp"

namespace projectord::config {

struct LoadResult {
  Config config;  ///< meaningful only when errors is empty
  std::vector<std::string>
      errors;  ///< "projectord.toml:12: handlers.users.on_error: expected one of stop, dead_letter"
  bool ok() const { return errors.empty(); }
};

LoadResult load_config(const std::string& path, const OptionTable& options);
/// Same, from text already in memory; `path` is only used in messages. Used by tests and reload.
LoadResult load_config_text(const std::string& text, const std::string& path, const OptionTable& options);

}  // namespace projectord::config
