#pragma once
/// The one declarative option table: every key of every section with its type, default, whether SIGHUP can
/// change it, and its help text. Parsing, defaults, unknown-key errors and `projectord --help` all read it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace projectord::config {

enum class OptionType { string, integer, boolean, duration, string_list, table_list, string_map };

struct Option {
  std::string_view section;  ///< "daemon", "database", "sources.*", "handlers.*", "handlers.*.statements"
  std::string_view key;
  OptionType type;
  std::string_view default_value{};  ///< as written in TOML; empty = required or kind-specific (see `kinds`)
  /// For sources.*/handlers.*: the comma-separated values of the section's enumerated keys (handlers' kind;
  /// sources' kind or preset) it applies to; empty = all.
  std::string_view kinds{};
  bool reloadable;           ///< SIGHUP applies it without a restart
  std::string_view help;
  /// Must be set (a `KEY_file` row satisfies `KEY`). Requirements that depend on the kind or preset, e.g.
  /// sources.*.table for preset generic, are said in `help` and checked by the loader and presets.
  bool required = false;
  /// Allowed values of an enumerated string, '|'-separated, listed in the order of the C++ enum they map to.
  std::string_view choices{};
  std::int64_t min_value = 0;  ///< integer options: inclusive bounds
  std::int64_t max_value = 0;
};

const std::vector<Option>& option_table();

/// The row of `key` in `section` (a table pattern such as "handlers.*"), or nullptr when there is none.
const Option* find_option(std::string_view section, std::string_view key);

/// The reference printed by `projectord --help` under "Configuration": one line per option, grouped by section.
std::string options_help();

}  // namespace projectord::config
