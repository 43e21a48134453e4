#pragma once
/// What the loader knows of a handler kind: its name, its own keys in the form of option table rows, and how
/// to check and map them beyond what the rows say. config/ only describes kinds; handlers/registry.hpp pairs
/// each with the factory that builds its handler and hands the loader the registered ones, so a kind written
/// outside this repository gets the same parsing, `--help` lines and FILE:LINE: KEY errors as a built-in one.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/options.hpp"

namespace projectord::config {

/// One [handlers.NAME] table (or one table of a table_list key below it) as its kind's `load` sees it: every
/// value already type-checked and defaulted by its row. Reading a key the kind did not declare throws
/// std::logic_error.
class KindSection {
 public:
  virtual ~KindSection() = default;

  /// Written in the file (a bad value counts as written, and its error is reported already).
  virtual bool has(std::string_view key) const = 0;
  virtual const std::string& str(std::string_view key) const = 0;
  virtual std::int64_t integer(std::string_view key) const = 0;
  virtual Duration duration(std::string_view key) const = 0;
  virtual bool flag(std::string_view key) const = 0;
  virtual const std::vector<std::string>& strings(std::string_view key) const = 0;
  virtual const StringMap& string_map(std::string_view key) const = 0;
  virtual const boost::json::object& json_table(std::string_view key) const = 0;

  /// Reports "FILE:LINE: SECTION.KEY: message" at the key's line (the table's when it is not written); one
  /// message per key.
  virtual void error(std::string_view key, std::string_view message) = 0;
  virtual std::size_t line() const = 0;                         ///< of the table's header
  virtual std::string path(std::string_view key) const = 0;     ///< "handlers.NAME.KEY", as messages name it
  /// Calls `load` for each table of the table_list key `key`, checked against the rows of the section
  /// below this one ("handlers.*.KEY").
  virtual void each_table(std::string_view key, const std::function<void(KindSection&)>& load) = 0;
};

struct HandlerKind {
  std::string name;  ///< the value of `kind`: a-z, 0-9 and _
  /// Delivers outside the read-model database, at least once: never rebuilt, since a rebuild replays history.
  bool side_effect = false;
  /// Each row it writes belongs to one stream (or it writes none): its handlers may be split into partitions
  /// by stream, whose lanes commit independently (config::Handler::partitions).
  bool partitionable = false;
  /// The kind writes one table, set by `table` and by default this one; empty: it has no `table` key. Two
  /// handlers may not write one table.
  std::string default_table{};
  /// Its own keys: rows of section "handlers.*" (their `kinds` is filled in; rows several kinds share must be
  /// equal) and of sections of its table_list keys ("handlers.*.statements").
  std::vector<Option> options{};
  /// Checks and maps its keys beyond what their rows say (required together, event paths, ...); may be empty.
  std::function<void(KindSection&, Handler&)> load{};
};

}  // namespace projectord::config
