#include "config/loader.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <variant>

#include "base/postgres/identifier.hpp"
#include "config/duration.hpp"
#include "config/options.hpp"
#include "config/presets.hpp"

namespace projectord::config {
namespace {

namespace fs = std::filesystem;

// Source and handler names become parts of identifiers (checkpoint keys, shadow schemas for rebuilds).
constexpr std::size_t kMaxNameLength = 48;

// The table a handler kind writes when `table` is not set: the seeds' UserEventLog and UserProjection.
constexpr std::pair<std::string_view, std::string_view> kDefaultTables[] = {
    {"event_log", "user_event_log"},
    {"users", "user_projection"},
};

// result<std::string, std::string> cannot tell a value from an error by type, so failures are spelled out.
Result<std::string> failure(std::string message) { return {boost::system::in_place_error, std::move(message)}; }
Result<std::string> success(std::string value) { return {boost::system::in_place_value, std::move(value)}; }

// ---------------------------------------------------------------------------------------------------------
// Small text helpers

bool list_contains(std::string_view list, char separator, std::string_view item) {
  while (true) {
    const auto end = list.find(separator);
    if (list.substr(0, end) == item) return true;
    if (end == std::string_view::npos) return false;
    list.remove_prefix(end + 1);
  }
}

std::size_t list_index(std::string_view list, char separator, std::string_view item) {
  std::size_t index = 0;
  for (auto end = list.find(separator); list.substr(0, end) != item; end = list.find(separator), ++index) {
    if (end == std::string_view::npos) return 0;
    list.remove_prefix(end + 1);
  }
  return index;
}

std::string replace_separator(std::string_view list, char separator, std::string_view glue) {
  std::string out;
  for (const char c : list) {
    if (c == separator) {
      out += glue;
    } else {
      out += c;
    }
  }
  return out;
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string_view toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string expected(std::string_view what, const toml::node& node) {
  return "expected " + std::string(what) + ", got " + std::string(toml_type_name(node));
}

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength && name.front() >= 'a' && name.front() <= 'z' &&
         std::ranges::all_of(name, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool is_env_name(std::string_view name) {
  const auto word = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  return !name.empty() && word(name.front()) &&
         std::ranges::all_of(name, [&](char c) { return word(c) || (c >= '0' && c <= '9'); });
}

// Only a plausibility check: handlers compile the paths (handlers/event_path.hpp) and report what is wrong.
bool is_plausible_event_path(std::string_view path) {
  const auto bad_char = [](char c) { return static_cast<unsigned char>(c) <= ' '; };
  return !path.empty() && path.front() != '.' && path.back() != '.' && path.find("..") == std::string_view::npos &&
         std::ranges::none_of(path, bad_char);
}

// ---------------------------------------------------------------------------------------------------------
// Values: ${ENV} interpolation and files

// Messages never quote the text: it may be a connection string with a password in it.
Result<std::string> interpolate(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("$${")) {
      out += "${";
      i += 3;
      continue;
    }
    if (!rest.starts_with("${")) {
      out += text[i++];
      continue;
    }
    const auto close = rest.find('}');
    if (close == std::string_view::npos) return failure("unterminated ${ (write $${ for a literal ${)");
    std::string_view name = rest.substr(2, close - 2);
    std::optional<std::string_view> fallback;
    if (const auto separator = name.find(":-"); separator != std::string_view::npos) {
      fallback = name.substr(separator + 2);
      name = name.substr(0, separator);
    }
    if (!is_env_name(name)) return failure("bad ${...}: a variable name is letters, digits and _");
    const char* value = std::getenv(std::string(name).c_str());
    // As in the shell, ${NAME:-default} also replaces a variable that is set but empty.
    if (fallback && (value == nullptr || *value == '\0')) {
      out += *fallback;
    } else if (value != nullptr) {
      out += value;
    } else {
      return failure("environment variable " + std::string(name) + " is not set");
    }
    i += close + 1;
  }
  return success(std::move(out));
}

Result<std::string> read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failure(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return success(std::move(text).str());
}

// The value of a `KEY_file` key. Messages name the file, never its content.
Result<std::string> read_value_file(const fs::path& config_dir, const std::string& name) {
  const fs::path path = config_dir / name;  // an absolute `name` replaces config_dir
  auto content = read_text_file(path);
  if (!content) return failure("cannot read " + in_quotes(path.string()) + ": " + content.error());
  while (!content->empty() && (content->back() == '\n' || content->back() == '\r')) content->pop_back();
  if (content->empty()) return failure(in_quotes(path.string()) + " is empty");
  return content;
}

// table_list values stay in the document (Section::tables); monostate marks them checked.
using StringMap = std::map<std::string, std::string>;
using Value =
    std::variant<std::string, std::int64_t, bool, Duration, std::vector<std::string>, std::monostate, StringMap>;

Result<Value> bad(std::string message) { return {boost::system::in_place_error, std::move(message)}; }

Result<std::string> string_of(const toml::node& node, std::string_view what) {
  if (!node.is_string()) return failure(expected(what, node));
  return interpolate(node.as_string()->get());
}

// Type-checks one value against its option row: the only place a TOML value becomes a config value.
Result<Value> convert(const Option& option, const toml::node& node) {
  switch (option.type) {
    case OptionType::string: {
      auto text = string_of(node, "string");
      if (!text) return bad(text.error());
      if (!option.choices.empty() && !list_contains(option.choices, '|', *text)) {
        return bad("expected one of " + replace_separator(option.choices, '|', ", ") + ", got " + in_quotes(*text));
      }
      return Value{std::move(*text)};
    }
    case OptionType::integer: {
      const auto* integer = node.as_integer();
      if (integer == nullptr) return bad(expected("integer", node));
      const std::int64_t n = integer->get();
      if (option.max_value > option.min_value && (n < option.min_value || n > option.max_value)) {
        return bad("must be between " + std::to_string(option.min_value) + " and " + std::to_string(option.max_value) +
                   ", got " + std::to_string(n));
      }
      return Value{n};
    }
    case OptionType::boolean: {
      const auto* boolean = node.as_boolean();
      if (boolean == nullptr) return bad(expected("boolean", node));
      return Value{boolean->get()};
    }
    case OptionType::duration: {
      auto text = string_of(node, "duration string like \"1s\"");
      if (!text) return bad(text.error());
      auto duration = parse_duration(*text);
      if (!duration) return bad(duration.error());
      return Value{*duration};
    }
    case OptionType::string_list: {
      const auto* array = node.as_array();
      if (array == nullptr) return bad(expected("array of strings", node));
      std::vector<std::string> items;
      for (std::size_t i = 0; i < array->size(); ++i) {
        auto item = string_of(*array->get(i), "string");
        if (!item) return bad("element " + std::to_string(i) + ": " + item.error());
        items.push_back(std::move(*item));
      }
      return Value{std::move(items)};
    }
    case OptionType::string_map: {
      const auto* table = node.as_table();
      if (table == nullptr) return bad(expected("table of strings", node));
      StringMap items;
      for (auto&& [key, item] : *table) {
        auto text = string_of(item, "string");
        if (!text) return bad(std::string(key.str()) + ": " + text.error());
        items.emplace(std::string(key.str()), std::move(*text));
      }
      return Value{std::move(items)};
    }
    case OptionType::table_list: {
      const auto* array = node.as_array();
      // toml++ does not count an empty array as an array of tables; the loader says it must not be empty.
      if (array == nullptr || !(array->empty() || array->is_array_of_tables())) {
        return bad(expected("array of tables", node));
      }
      return Value{std::monostate{}};
    }
  }
  return bad("unsupported option type");
}

// ---------------------------------------------------------------------------------------------------------
// Errors and sections

class Diagnostics {
 public:
  Diagnostics(std::string file, fs::path config_dir) : file_(std::move(file)), config_dir_(std::move(config_dir)) {}

  /// "FILE:LINE: KEY: message"; line 0 (a section missing altogether) has no line, an empty key no key.
  void add(std::size_t line, std::string_view key, std::string_view message) {
    std::string text = file_;
    if (line > 0) text += ":" + std::to_string(line);
    text += ": ";
    if (!key.empty()) text += std::string(key) + ": ";
    text += message;
    errors_.emplace_back(line, std::move(text));
  }

  /// In file order; toml++ hands out keys sorted by name, not by position.
  std::vector<std::string> take() {
    std::ranges::stable_sort(errors_, {}, &std::pair<std::size_t, std::string>::first);
    std::vector<std::string> texts;
    for (auto& [line, text] : errors_) texts.push_back(std::move(text));
    return texts;
  }

  const fs::path& config_dir() const { return config_dir_; }
  bool empty() const { return errors_.empty(); }

 private:
  std::string file_;
  fs::path config_dir_;  ///< relative `_file` paths are relative to the config file
  std::vector<std::pair<std::size_t, std::string>> errors_;
};

/// One TOML table checked against the rows of one option-table section: unknown keys, types, `_file` keys,
/// defaults, requirements and kind/preset restrictions are all handled here, once, for every section.
class Section {
 public:
  /// `pattern` is the option-table section ("handlers.*"), `name` what messages call it ("handlers.users"),
  /// `table` null when the file has no such table, `line` its header's line.
  Section(Diagnostics& diagnostics, std::string_view pattern, std::string name, const toml::table* table,
          std::size_t line)
      : diagnostics_(diagnostics), pattern_(pattern), name_(std::move(name)), table_(table), line_(line) {
    if (table_ != nullptr) read_keys();
    read_value_files();
    apply_defaults();
    check_kinds();
  }

  std::size_t line() const { return line_; }
  /// Where `key` was written, else the table header.
  std::size_t line(std::string_view key) const {
    const auto found = lines_.find(key);
    return found == lines_.end() ? line_ : found->second;
  }
  std::string path(std::string_view key) const { return name_ + "." + std::string(key); }

  /// Written in the file (even with a bad value: then it has no value, and defaults do not mask the error).
  bool has(std::string_view key) const {
    row(key);
    return lines_.contains(key);
  }

  /// One message per key: a bad value is not also reported as missing, empty or unsafe.
  void error(std::string_view key, std::string_view message) {
    if (errors_.insert(std::string(key)).second) diagnostics_.add(line(key), path(key), message);
  }

  /// A default that depends on the kind or preset; applies only when the file does not set `key`.
  void set_default(std::string_view key, std::string_view value) {
    if (has(key)) return;
    values_.insert_or_assign(std::string(key), checked_default(row(key), toml::value<std::string>(std::string(value))));
  }

  const std::string& str(std::string_view key) const { return get<std::string>(key); }
  std::int64_t integer(std::string_view key) const { return get<std::int64_t>(key); }
  Duration duration(std::string_view key) const { return get<Duration>(key); }
  bool flag(std::string_view key) const { return get<bool>(key); }
  const std::vector<std::string>& strings(std::string_view key) const { return get<std::vector<std::string>>(key); }
  const StringMap& string_map(std::string_view key) const { return get<StringMap>(key); }
  /// An enumerated string as its C++ enum: the option's choices are listed in the enum's order.
  template <class Enum>
  Enum choice(std::string_view key) const {
    return static_cast<Enum>(list_index(row(key).choices, '|', str(key)));
  }
  /// A checked array of tables, or null when absent or bad.
  const toml::array* tables(std::string_view key) const {
    if (!values_.contains(key)) return nullptr;
    return table_->get(key)->as_array();
  }

 private:
  // Every key the loader reads must be in the option table: that is what keeps --help and parsing in step.
  const Option& row(std::string_view key) const {
    const Option* option = find_option(pattern_, key);
    if (option == nullptr) {
      throw std::logic_error("option table has no " + std::string(pattern_) + "." + std::string(key));
    }
    return *option;
  }

  template <class T>
  const T& get(std::string_view key) const {
    row(key);
    static const T kNone{};
    const auto found = values_.find(key);
    return found == values_.end() ? kNone : std::get<T>(found->second);
  }

  static Value checked_default(const Option& option, const toml::node& node) {
    auto value = convert(option, node);
    if (!value) {
      throw std::logic_error("bad default of " + std::string(option.section) + "." + std::string(option.key) + ": " +
                             value.error());
    }
    return std::move(*value);
  }

  void read_keys() {
    for (auto&& [key, node] : *table_) {
      const std::string_view name = key.str();
      const std::size_t at = key.source().begin.line;
      const Option* option = find_option(pattern_, name);
      if (option == nullptr) {
        diagnostics_.add(at, path(name), "unknown key");
        continue;
      }
      lines_.emplace(name, at);
      auto value = convert(*option, node);
      if (value) {
        values_.emplace(name, std::move(*value));
      } else {
        error(name, value.error());
      }
    }
  }

  // `KEY_file` stands for KEY: the file's content becomes KEY's value.
  void read_value_files() {
    constexpr std::string_view kSuffix = "_file";
    for (const Option& option : option_table()) {
      if (option.section != pattern_ || !option.key.ends_with(kSuffix) || !has(option.key)) continue;
      const std::string_view key = option.key.substr(0, option.key.size() - kSuffix.size());
      if (has(key)) {
        error(option.key, "set " + std::string(key) + " or " + std::string(option.key) + ", not both");
        continue;
      }
      lines_.emplace(key, line(option.key));
      const auto file = values_.find(option.key);
      if (file == values_.end()) continue;  // its bad value is reported already
      auto content = read_value_file(diagnostics_.config_dir(), std::get<std::string>(file->second));
      if (content) {
        values_.emplace(key, std::move(*content));
      } else {
        error(option.key, content.error());
      }
    }
  }

  void apply_defaults() {
    for (const Option& option : option_table()) {
      if (option.section != pattern_ || has(option.key)) continue;
      if (option.required) {
        error(option.key, "required");
      } else if (!option.default_value.empty()) {
        // Defaults are written as TOML, so they go through the same conversion as the file's values.
        const toml::table parsed = toml::parse("default = " + std::string(option.default_value));
        values_.emplace(option.key, checked_default(option, *parsed.get("default")));
      }
    }
  }

  // An enumerated key whose values other keys of its section are restricted to (kind, preset).
  static bool is_discriminator(const Option& candidate) {
    if (candidate.choices.empty()) return false;
    return std::ranges::any_of(option_table(), [&](const Option& o) {
      if (o.section != candidate.section || o.kinds.empty()) return false;
      const std::string_view first_kind = o.kinds.substr(0, o.kinds.find(','));
      return list_contains(candidate.choices, '|', first_kind);
    });
  }

  // A row with `kinds` applies only when one of the section's enumerated keys (handlers' kind; sources' kind
  // or preset) has one of those values. An enumerated key that is unset or bad decides nothing.
  void check_kinds() {
    for (const auto& [key, at] : lines_) {
      const Option& option = row(key);
      if (option.kinds.empty()) continue;
      bool decided = false;
      bool applies = false;
      const Option* named = nullptr;  // the enumerated key whose values `kinds` lists, for the message
      for (const Option& o : option_table()) {
        if (o.section != pattern_ || !is_discriminator(o)) continue;
        const std::string_view first_kind = option.kinds.substr(0, option.kinds.find(','));
        if (list_contains(o.choices, '|', first_kind)) named = &o;
        const std::string& value = str(o.key);
        if (value.empty() || !list_contains(o.choices, '|', value)) continue;
        decided = true;
        applies = applies || list_contains(option.kinds, ',', value);
      }
      if (named == nullptr) throw std::logic_error("no option has the kinds of " + std::string(key));
      if (decided && !applies) {
        error(key, "only for " + std::string(named->key) + " " + replace_separator(option.kinds, ',', " or "));
      }
    }
  }

  Diagnostics& diagnostics_;
  std::string_view pattern_;
  std::string name_;
  const toml::table* table_;
  std::size_t line_;
  std::map<std::string, Value, std::less<>> values_;       ///< good values and defaults
  std::map<std::string, std::size_t, std::less<>> lines_;  ///< keys written in the file
  std::set<std::string, std::less<>> errors_;              ///< keys already reported
};

// ---------------------------------------------------------------------------------------------------------
// Sections to Config

bool is_section(std::string_view name) {
  return std::ranges::any_of(option_table(), [&](const Option& o) { return o.section == name; });
}

/// One [GROUP.NAME] table, e.g. [sources.shop].
struct Named {
  std::string name;
  const toml::table* table;
  std::size_t line;
};

struct Document {
  std::map<std::string, std::pair<const toml::table*, std::size_t>, std::less<>> sections;  ///< [daemon], [database]
  std::map<std::string, std::vector<Named>, std::less<>> groups;                            ///< sources, handlers
};

Document split_document(const toml::table& root, Diagnostics& diagnostics) {
  Document document;
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    const std::size_t at = key.source().begin.line;
    const bool single = is_section(name);
    if (!single && !is_section(name + ".*")) {
      diagnostics.add(at, name, "unknown section");
      continue;
    }
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      diagnostics.add(at, name, expected("table", node));
      continue;
    }
    if (single) {
      document.sections.emplace(name, std::pair{table, at});
      continue;
    }
    auto& members = document.groups[name];
    for (auto&& [member_key, member] : *table) {
      const std::string member_name(member_key.str());
      const std::size_t member_at = member_key.source().begin.line;
      if (!is_valid_name(member_name)) {
        diagnostics.add(member_at, name + "." + member_name,
                        "bad name: use a-z, 0-9 and _, starting with a letter, at most " +
                            std::to_string(kMaxNameLength) + " characters");
      } else if (member.as_table() == nullptr) {
        diagnostics.add(member_at, name + "." + member_name, expected("table", member));
      } else {
        members.push_back({member_name, member.as_table(), member_at});
      }
    }
  }
  return document;
}

Section single_section(Diagnostics& diagnostics, const Document& document, std::string_view name) {
  const auto found = document.sections.find(name);
  if (found == document.sections.end()) return Section(diagnostics, name, std::string(name), nullptr, 0);
  return Section(diagnostics, name, std::string(name), found->second.first, found->second.second);
}

const std::vector<Named>& group(const Document& document, std::string_view name) {
  static const std::vector<Named> kNone;
  const auto found = document.groups.find(name);
  return found == document.groups.end() ? kNone : found->second;
}

PostgresSource load_postgres_source(Section& s, const std::string& database_url) {
  PostgresSource source;
  if (!s.has("preset")) s.error("preset", "required for kind postgres");
  source.preset = s.str("preset");
  const Preset* preset = find_preset(source.preset);
  if (preset != nullptr) {
    for (const auto& [key, value] : preset->defaults) s.set_default(key, value);
    for (const std::string_view key : preset->required) {
      if (!s.has(key)) s.error(key, "required for preset " + source.preset);
    }
  }
  source.url = s.has("url") ? s.str("url") : database_url;
  source.table = s.str("table");
  source.position_column = s.str("position_column");
  source.stream_id_column = s.str("stream_id_column");
  source.version_column = s.str("version_column");
  source.type_column = s.str("type_column");
  source.payload_column = s.str("payload_column");
  source.metadata_column = s.str("metadata_column");
  source.recorded_at_column = s.str("recorded_at_column");
  source.recorded_at_path = s.str("recorded_at_path");
  // sources/row_decoder.cpp reads the time from one top-level key of the payload.
  constexpr std::string_view kPayload = "data.";
  const std::string_view path = source.recorded_at_path;
  const std::string_view payload_key = path.starts_with(kPayload) ? path.substr(kPayload.size()) : "";
  if (!path.empty() && (payload_key.empty() || payload_key.find('.') != std::string_view::npos)) {
    s.error("recorded_at_path", "must be data.KEY, a top-level key of the payload, got " + in_quotes(path));
  }
  source.filter_column = s.str("filter_column");
  source.filter_value = s.has("application_name") ? s.str("application_name") : s.str("filter_value");
  if (s.has("filter_column") != s.has("filter_value")) {
    s.error(s.has("filter_column") ? "filter_column" : "filter_value", "filter_column and filter_value go together");
  }
  source.codec = s.choice<Codec>("codec");
  source.commit_order = s.choice<CommitOrder>("commit_order");
  source.notify_channel = s.str("notify_channel");
  source.poll_interval = s.duration("poll_interval");
  if (source.poll_interval <= Duration::zero()) s.error("poll_interval", "must be more than 0");
  source.hole_grace = s.duration("hole_grace");
  source.max_hole_wait = s.duration("max_hole_wait");
  source.hole_recheck = s.duration("hole_recheck");
  source.batch_size = static_cast<std::size_t>(s.integer("batch_size"));
  // Without a preset (a bad one is reported already) every column would be reported missing.
  if (preset != nullptr) {
    for (const auto& problem : check_mapping(source)) s.error(problem.key, problem.message);
  }
  if (source.notify_channel.empty()) source.notify_channel = default_notify_channel(source.table);
  return source;
}

RedisSource load_redis_source(Section& s) {
  RedisSource source;
  source.url = s.str("url");
  if (!s.has("url")) s.error("url", "required for kind redis");
  source.stream = s.str("stream");
  if (!s.has("stream")) s.error("stream", "required for kind redis");
  source.group = s.str("group");
  source.consumer = s.str("consumer");
  source.start = s.str("start");
  source.type_field = s.str("type_field");
  source.stream_id_field = s.str("stream_id_field");
  source.version_field = s.str("version_field");
  source.data_field = s.str("data_field");
  if (s.has("codec")) source.codec = s.choice<Codec>("codec");
  source.metadata_field = s.str("metadata_field");
  source.recorded_at_field = s.str("recorded_at_field");
  source.block = s.duration("block");
  if (source.block <= Duration::zero()) s.error("block", "must be more than 0");
  source.claim_idle = s.duration("claim_idle");
  source.batch_size = static_cast<std::size_t>(s.integer("batch_size"));
  for (const std::string_view key : {"stream", "group", "type_field", "data_field"}) {
    if (s.has(key) && s.str(key).empty()) s.error(key, "must not be empty");
  }
  return source;
}

SqlStatement load_statement(Section& s) {
  SqlStatement statement{.on = s.str("on"), .sql = s.str("sql"), .params = s.strings("params"), .line = s.line()};
  if (s.has("on") && statement.on.empty()) s.error("on", "must not be empty");
  if (s.has("sql") && statement.sql.find_first_not_of(" \t\r\n") == std::string::npos) {
    s.error("sql", "must not be empty");
  }
  for (const std::string& param : statement.params) {
    if (!is_plausible_event_path(param)) {
      s.error("params", in_quotes(param) + " is not an event path such as stream_id or data.email");
    }
  }
  return statement;
}

void load_side_effect(Section& s, Handler& handler) {
  SideEffectSettings& out = handler.side_effect;
  out.url = s.str("url");
  if (!s.has("url")) s.error("url", "required for kind " + handler.kind);
  out.secret = s.str("secret");
  out.connect_timeout = s.duration("connect_timeout");
  out.request_timeout = s.duration("request_timeout");
  out.max_in_flight = static_cast<std::size_t>(s.integer("max_in_flight"));
  out.ca_file = s.str("ca_file");
  out.task = s.str("task");
  out.queue = s.str("queue");
  out.args = s.strings("args");
  out.kwargs = s.string_map("kwargs");
  out.stream = s.str("stream");
  out.maxlen = s.integer("maxlen");
  out.fields = s.string_map("fields");
  if (handler.kind == "celery" && out.task.empty()) s.error("task", "required for kind celery");
  if (handler.kind == "redis_publish" && out.stream.empty()) s.error("stream", "required for kind redis_publish");
  const auto check_path = [&](std::string_view key, const std::string& path) {
    if (!is_plausible_event_path(path)) s.error(key, in_quotes(path) + " is not an event path such as data.email");
  };
  for (const std::string& path : out.args) check_path("args", path);
  for (const auto& [name, path] : out.kwargs) check_path("kwargs", path);
  for (const auto& [name, path] : out.fields) check_path("fields", path);
}

Handler load_handler(Section& s, Diagnostics& diagnostics, const std::set<std::string, std::less<>>& sources) {
  Handler handler;
  handler.kind = s.str("kind");
  handler.line = s.line();
  handler.source = s.str("source");
  if (!s.has("source")) {
    if (sources.size() == 1) {
      handler.source = *sources.begin();
    } else {
      s.error("source", sources.empty() ? "required, and no [sources.NAME] is defined"
                                        : "required when more than one source is defined");
    }
  } else if (!handler.source.empty() && !sources.contains(handler.source)) {
    s.error("source", "no [sources." + handler.source + "] is defined");
  }
  handler.types = s.strings("types");
  handler.on_error = s.choice<OnError>("on_error");
  handler.max_attempts = static_cast<int>(s.integer("max_attempts"));
  handler.retry_backoff = s.duration("retry_backoff");
  handler.retry_backoff_max = s.duration("retry_backoff_max");
  handler.rebuild_on_signal = s.flag("rebuild_on_signal");
  handler.rebuild_max_rate = s.integer("rebuild_max_rate");
  if (handler.retry_backoff_max < handler.retry_backoff) {
    s.error("retry_backoff_max", "must be at least retry_backoff (" + format_duration(handler.retry_backoff) + ")");
  }

  const auto default_table =
      std::ranges::find(kDefaultTables, handler.kind, &std::pair<std::string_view, std::string_view>::first);
  if (default_table != std::end(kDefaultTables)) {
    s.set_default("table", default_table->second);
    handler.table = s.str("table");
    if (const std::string problem = postgres::identifier_problem(handler.table, true); !problem.empty()) {
      s.error("table", problem);
    }
  }

  if (is_side_effect_kind(handler.kind)) load_side_effect(s, handler);
  handler.setup = s.str("setup");
  if (handler.kind == "sql") {
    const toml::array* statements = s.tables("statements");
    if (statements == nullptr || statements->empty()) {
      s.error("statements", s.has("statements") ? "must not be empty"
                                                : "required for kind sql: add [[" + s.path("statements") + "]]");
    }
    for (std::size_t i = 0; statements != nullptr && i < statements->size(); ++i) {
      const toml::table& table = *statements->get(i)->as_table();
      Section statement(diagnostics, "handlers.*.statements", s.path("statements") + "[" + std::to_string(i) + "]",
                        &table, table.source().begin.line);
      handler.statements.push_back(load_statement(statement));
    }
  }
  return handler;
}

void load_document(const toml::table& root, Diagnostics& diagnostics, Config& config) {
  const Document document = split_document(root, diagnostics);

  const Section daemon = single_section(diagnostics, document, "daemon");
  config.daemon.log_level = daemon.str("log_level");
  config.daemon.shutdown_timeout = daemon.duration("shutdown_timeout");
  config.daemon.stuck_after = daemon.duration("stuck_after");

  const Section http = single_section(diagnostics, document, "http");
  config.http.listen = http.str("listen");
  config.http.admin_token = http.str("admin_token");
  config.http.ready_max_lag = http.duration("ready_max_lag");

  const Section database = single_section(diagnostics, document, "database");
  config.database_url = database.str("url");
  config.synchronous_commit = database.str("synchronous_commit");

  std::set<std::string, std::less<>> source_names;
  for (const Named& named : group(document, "sources")) {
    Section section(diagnostics, "sources.*", "sources." + named.name, named.table, named.line);
    source_names.insert(named.name);
    if (section.str("kind") == "redis") {
      RedisSource source = load_redis_source(section);
      source.name = named.name;
      config.redis_sources.emplace(named.name, std::move(source));
    } else {
      PostgresSource source = load_postgres_source(section, config.database_url);
      source.name = named.name;
      config.postgres_sources.emplace(named.name, std::move(source));
    }
  }

  // Two handlers appending to one table would each see the other's rows as their own.
  std::map<std::string, std::string> table_writers;
  for (const Named& named : group(document, "handlers")) {
    Section section(diagnostics, "handlers.*", "handlers." + named.name, named.table, named.line);
    Handler handler = load_handler(section, diagnostics, source_names);
    handler.name = named.name;
    if (!handler.table.empty()) {
      const auto [writer, added] = table_writers.emplace(handler.table, named.name);
      if (!added) section.error("table", handler.table + " is also the table of handlers." + writer->second);
    }
    config.handlers.emplace(named.name, std::move(handler));
  }
}

}  // namespace

bool is_side_effect_kind(std::string_view kind) {
  return kind == "webhook" || kind == "celery" || kind == "redis_publish";
}

LoadResult load_config(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return {.config = {}, .errors = {path + ": cannot read: " + text.error()}};
  return load_config_text(*text, path);
}

LoadResult load_config_text(const std::string& text, const std::string& path) {
  LoadResult result;
  result.config.file = path;
  Diagnostics diagnostics(path, fs::path(path).parent_path());
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(path));
  } catch (const toml::parse_error& error) {
    diagnostics.add(error.source().begin.line, "", "syntax error: " + std::string(error.description()));
  }
  if (diagnostics.empty()) load_document(root, diagnostics, result.config);
  result.errors = diagnostics.take();
  return result;
}

}  // namespace projectord::config
