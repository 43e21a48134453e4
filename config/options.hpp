#pragma once
/// The rows of the option table: every key of a section with its type, default, whether SIGHUP can change it,
/// and its help text. Parsing, defaults, unknown-key errors, `projectord --help` and the reload diff all read
/// the table (config/option_table.hpp), made of the fixed rows below and the rows of the registered handler
/// kinds (config/handler_kind.hpp).
#include <cstdint>
#include <string_view>
#include <vector>

namespace projectord::config {

/// A byte_size is written as "16MiB" and held as the integer count of bytes; a json_table is a table of any
/// values (strings, numbers, booleans, arrays, tables), held as a JSON object.
enum class OptionType { string, integer, boolean, duration, byte_size, string_list, table_list, string_map, json_table };

/// Texts are viewed, not copied: a row's strings are literals (or owned by its OptionTable).
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
  /// Must be set where it applies (a `KEY_file` row satisfies `KEY`). Requirements that depend on the
  /// preset, e.g. sources.*.table for preset generic, are said in `help` and checked by the loader and presets.
  bool required = false;
  /// Allowed values of an enumerated string, '|'-separated, listed in the order of the C++ enum they map to.
  std::string_view choices{};
  std::int64_t min_value = 0;  ///< integer and byte_size options: inclusive bounds
  std::int64_t max_value = 0;

  bool operator==(const Option&) const = default;
};

/// [daemon], [database], [http], [sources.NAME] and the [handlers.NAME] keys whose rows name no kind.
const std::vector<Option>& fixed_options();

}  // namespace projectord::config
