#pragma once
/// The one declarative option table: the fixed rows (config/options.cpp) and those of the registered handler
/// kinds, which also decide the choices of handlers' `kind` and which kinds `rebuild_on_signal` and `table`
/// apply to. The loader checks a file against it, `projectord --help` prints it, reload diffs by it.
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "config/handler_kind.hpp"
#include "config/options.hpp"

namespace projectord::config {

class OptionTable {
 public:
  /// Throws std::logic_error when two kinds share a name, or declare one key unlike each other or a fixed row.
  explicit OptionTable(std::vector<HandlerKind> kinds);
  OptionTable(const OptionTable&) = delete;
  OptionTable& operator=(const OptionTable&) = delete;

  /// Grouped by section, in the order `--help` prints them.
  const std::vector<Option>& rows() const { return rows_; }
  /// The row of `key` in `section` (a table pattern such as "handlers.*"), or nullptr when there is none.
  const Option* find(std::string_view section, std::string_view key) const;
  bool has_section(std::string_view section) const;

  const std::vector<HandlerKind>& kinds() const { return kinds_; }
  /// The kind called `name`, or nullptr.
  const HandlerKind* kind(std::string_view name) const;

  /// The reference printed by `projectord --help` under "Configuration": the legend, then one line per option,
  /// by section. The man page projectord.toml(5) is made of the same parts.
  std::string help() const;

  /// How to read the reference: duration and byte-size syntax, and the notes a row's text ends with.
  static constexpr std::string_view kLegend =
      "Durations: 250ms, 1s, 10min, 2h. Byte sizes: 512B, 64KiB, 16MiB. $${ is a literal ${. [a|b]: allowed\n"
      "values; (only: ...): the kinds or presets a key applies to; (restart): SIGHUP does not apply it.\n";

  /// The header a user writes for `section`: "handlers.*.statements" -> "[[handlers.NAME.statements]]".
  std::string section_header(std::string_view section) const;

  /// A row as the reference shows it: its type, its default ("required"; "-" for none) and its help text
  /// followed by its allowed values, bounds, the kinds it applies to and whether SIGHUP applies it.
  struct RowHelp {
    std::string_view type;
    std::string_view shown_default;
    std::string text;
  };
  static RowHelp describe(const Option& row);

 private:
  std::string_view keep(std::string text);
  void add_kind_rows(const HandlerKind& kind, std::size_t first_kind_row, std::vector<Option>& nested);

  std::deque<std::string> texts_;  ///< generated texts the rows view; a deque never moves its elements
  std::vector<HandlerKind> kinds_;
  std::vector<Option> rows_;
};

}  // namespace projectord::config
