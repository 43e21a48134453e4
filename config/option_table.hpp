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

  /// The reference printed by `projectord --help` under "Configuration": one line per option, by section.
  std::string help() const;

 private:
  std::string_view keep(std::string text);
  void add_kind_rows(const HandlerKind& kind, std::size_t first_kind_row, std::vector<Option>& nested);

  std::deque<std::string> texts_;  ///< generated texts the rows view; a deque never moves its elements
  std::vector<HandlerKind> kinds_;
  std::vector<Option> rows_;
};

}  // namespace projectord::config
