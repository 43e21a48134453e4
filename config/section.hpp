#pragma once
/// The generic checks of a config file against the option table: one TOML table checked against the rows of
/// one option-table section. Unknown keys, types, choices and bounds, `KEY_file` keys, `${ENV}`, defaults,
/// requirements and kind/preset restrictions are handled here, once, for every section; what is left to the
/// mapping (config/loader.cpp) and to a handler kind's `load` is what only they know.
#include <toml++/toml.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/handler_kind.hpp"
#include "config/option_table.hpp"
#include "config/text.hpp"

namespace projectord::config {

/// The errors of one file, each "FILE:LINE: KEY: message", handed out in file order.
class Diagnostics {
 public:
  Diagnostics(std::string file, std::filesystem::path config_dir)
      : file_(std::move(file)), config_dir_(std::move(config_dir)) {}

  /// Line 0 (a section missing altogether) has no line, an empty key no key.
  void add(std::size_t line, std::string_view key, std::string_view message);
  /// In file order; toml++ hands out keys sorted by name, not by position.
  std::vector<std::string> take();

  const std::filesystem::path& config_dir() const { return config_dir_; }
  bool empty() const { return errors_.empty(); }

 private:
  std::string file_;
  std::filesystem::path config_dir_;  ///< relative `_file` paths are relative to the config file
  std::vector<std::pair<std::size_t, std::string>> errors_;
};

/// "expected WHAT, got TYPE" for a TOML value of the wrong type.
std::string expected(std::string_view what, const toml::node& node);

class Section final : public KindSection {
 public:
  /// `pattern` is the option-table section ("handlers.*"), `name` what messages call it ("handlers.users"),
  /// `table` null when the file has no such table, `line` its header's line.
  Section(const OptionTable& options, Diagnostics& diagnostics, std::string_view pattern, std::string name,
          const toml::table* table, std::size_t line);

  std::size_t line() const override { return line_; }
  /// Where a relative path in this section starts: the config file's directory.
  const std::filesystem::path& config_dir() const { return diagnostics_.config_dir(); }
  /// Where `key` was written, else the table header.
  std::size_t line(std::string_view key) const;
  std::string path(std::string_view key) const override { return name_ + "." + std::string(key); }

  bool has(std::string_view key) const override;
  void error(std::string_view key, std::string_view message) override;
  /// An error found across the tables below this section (two of them at odds): `line` and `path` say which.
  void error_at(std::size_t line, std::string_view path, std::string_view message) {
    diagnostics_.add(line, path, message);
  }

  /// A default that depends on the kind or preset; applies only when the file does not set `key`.
  void set_default(std::string_view key, std::string_view value);

  const std::string& str(std::string_view key) const override { return get<std::string>(key); }
  std::int64_t integer(std::string_view key) const override { return get<std::int64_t>(key); }
  Duration duration(std::string_view key) const override { return get<Duration>(key); }
  bool flag(std::string_view key) const override { return get<bool>(key); }
  const std::vector<std::string>& strings(std::string_view key) const override {
    return get<std::vector<std::string>>(key);
  }
  const StringMap& string_map(std::string_view key) const override { return get<StringMap>(key); }
  const boost::json::object& json_table(std::string_view key) const override {
    return get<boost::json::object>(key);
  }
  /// The checked value of `key` (written or defaulted), or nullptr.
  const OptionValue* value(std::string_view key) const;

  /// An enumerated string as its C++ enum: the option's choices are listed in the enum's order.
  template <class Enum>
  Enum choice(std::string_view key) const {
    return static_cast<Enum>(list_index(row(key).choices, '|', str(key)));
  }

  void each_table(std::string_view key, const std::function<void(KindSection&)>& load) override;

 private:
  const Option& row(std::string_view key) const;
  template <class T>
  const T& get(std::string_view key) const {
    row(key);
    static const T kNone{};  // a missing or bad value, already reported
    const auto found = values_.find(key);
    return found == values_.end() ? kNone : std::get<T>(found->second);
  }
  OptionValue checked_default(const Option& option, const toml::node& node) const;
  void read_keys();
  void read_value_files();
  void apply_defaults();
  bool is_discriminator(const Option& candidate) const;
  std::optional<bool> applies(const Option& option, const Option** named) const;
  void check_kinds();

  const OptionTable& options_;
  Diagnostics& diagnostics_;
  std::string_view pattern_;
  std::string name_;
  const toml::table* table_;
  std::size_t line_;
  std::map<std::string, OptionValue, std::less<>> values_;  ///< good values and defaults
  std::map<std::string, std::size_t, std::less<>> lines_;   ///< keys written in the file
  std::set<std::string, std::less<>> errors_;               ///< keys already reported
};

}  // namespace projectord::config
