#pragma once
/// What the config loader's unit tests share: a config read from text under the option table of the
/// registered handler kinds, and its errors as one text for a check's message.
#include <string>

#include "config/loader.hpp"
#include "handlers/registry.hpp"

namespace projectord::testing {

/// `text` loaded as the config file test.toml.
inline config::LoadResult load_config(const std::string& text) {
  return config::load_config_text(text, "test.toml", handlers::option_table());
}

/// The errors of `result`, one a line.
inline std::string error_lines(const config::LoadResult& result) {
  std::string text;
  for (const std::string& error : result.errors) text += error + "\n";
  return text;
}

}  // namespace projectord::testing
