#include "config/section.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cmath>
#include <stdexcept>

#include "config/byte_size.hpp"
#include "config/duration.hpp"
#include "config/interpolation.hpp"

namespace projectord::config {
namespace {

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

Result<std::string> string_of(const toml::node& node, std::string_view what) {
  if (!node.is_string()) return fail(expected(what, node));
  return interpolate(node.as_string()->get());
}

// Any TOML value but dates and times, which JSON has no type for; strings are interpolated like every other.
Result<boost::json::value> json_of(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: {
      auto text = interpolate(node.as_string()->get());
      if (!text) return fail(text.error());
      return boost::json::value(std::move(*text));
    }
    case toml::node_type::integer:
      return boost::json::value(node.as_integer()->get());
    case toml::node_type::floating_point: {
      const double number = node.as_floating_point()->get();
      if (!std::isfinite(number)) return fail("JSON has no " + std::to_string(number));
      return boost::json::value(number);
    }
    case toml::node_type::boolean:
      return boost::json::value(node.as_boolean()->get());
    case toml::node_type::array: {
      boost::json::array items;
      for (std::size_t i = 0; i < node.as_array()->size(); ++i) {
        auto item = json_of(*node.as_array()->get(i));
        if (!item) return fail("element " + std::to_string(i) + ": " + item.error());
        items.push_back(std::move(*item));
      }
      return boost::json::value(std::move(items));
    }
    case toml::node_type::table: {
      boost::json::object members;
      for (auto&& [key, member] : *node.as_table()) {
        auto value = json_of(member);
        if (!value) return fail(std::string(key.str()) + ": " + value.error());
        members.emplace(key.str(), std::move(*value));
      }
      return boost::json::value(std::move(members));
    }
    default:
      return fail(expected("a string, number, boolean, array or table", node));
  }
}

// Type-checks one value against its option row: the only place a TOML value becomes a config value.
Result<OptionValue> convert(const Option& option, const toml::node& node) {
  switch (option.type) {
    case OptionType::string: {
      auto text = string_of(node, "string");
      if (!text) return fail(text.error());
      if (!option.choices.empty() && !list_contains(option.choices, '|', *text)) {
        return fail("expected one of " + replace_separator(option.choices, '|', ", ") + ", got " + in_quotes(*text));
      }
      return OptionValue{std::move(*text)};
    }
    case OptionType::integer: {
      const auto* integer = node.as_integer();
      if (integer == nullptr) return fail(expected("integer", node));
      const std::int64_t n = integer->get();
      if (option.max_value > option.min_value && (n < option.min_value || n > option.max_value)) {
        return fail("must be between " + std::to_string(option.min_value) + " and " +
                    std::to_string(option.max_value) + ", got " + std::to_string(n));
      }
      return OptionValue{n};
    }
    case OptionType::boolean: {
      const auto* boolean = node.as_boolean();
      if (boolean == nullptr) return fail(expected("boolean", node));
      return OptionValue{boolean->get()};
    }
    case OptionType::duration: {
      auto text = string_of(node, "duration string like \"1s\"");
      if (!text) return fail(text.error());
      auto duration = parse_duration(*text);
      if (!duration) return fail(duration.error());
      return OptionValue{*duration};
    }
    case OptionType::byte_size: {
      auto text = string_of(node, "byte size string like \"16MiB\"");
      if (!text) return fail(text.error());
      auto bytes = parse_byte_size(*text);
      if (!bytes) return fail(bytes.error());
      if (option.max_value > option.min_value && (*bytes < option.min_value || *bytes > option.max_value)) {
        return fail("must be between " + format_byte_size(option.min_value) + " and " +
                    format_byte_size(option.max_value) + ", got " + in_quotes(*text));
      }
      return OptionValue{*bytes};
    }
    case OptionType::string_list: {
      const auto* array = node.as_array();
      if (array == nullptr) return fail(expected("array of strings", node));
      std::vector<std::string> items;
      for (std::size_t i = 0; i < array->size(); ++i) {
        auto item = string_of(*array->get(i), "string");
        if (!item) return fail("element " + std::to_string(i) + ": " + item.error());
        items.push_back(std::move(*item));
      }
      return OptionValue{std::move(items)};
    }
    case OptionType::string_map: {
      const auto* table = node.as_table();
      if (table == nullptr) return fail(expected("table of strings", node));
      StringMap items;
      for (auto&& [key, item] : *table) {
        auto text = string_of(item, "string");
        if (!text) return fail(std::string(key.str()) + ": " + text.error());
        items.emplace(std::string(key.str()), std::move(*text));
      }
      return OptionValue{std::move(items)};
    }
    case OptionType::json_table: {
      if (node.as_table() == nullptr) return fail(expected("table", node));
      auto object = json_of(node);
      if (!object) return fail(object.error());
      return OptionValue{std::move(object->as_object())};
    }
    case OptionType::table_list: {
      const auto* array = node.as_array();
      // toml++ does not count an empty array as an array of tables; the kind says whether it may be empty.
      if (array == nullptr || !(array->empty() || array->is_array_of_tables())) {
        return fail(expected("array of tables", node));
      }
      return OptionValue{std::monostate{}};
    }
  }
  return fail("unsupported option type");
}

}  // namespace

void Diagnostics::add(std::size_t line, std::string_view key, std::string_view message) {
  std::string text = file_;
  if (line > 0) text += ":" + std::to_string(line);
  text += ": ";
  if (!key.empty()) text += std::string(key) + ": ";
  text += message;
  errors_.emplace_back(line, std::move(text));
}

std::vector<std::string> Diagnostics::take() {
  std::ranges::stable_sort(errors_, {}, &std::pair<std::size_t, std::string>::first);
  std::vector<std::string> texts;
  for (auto& [line, text] : errors_) texts.push_back(std::move(text));
  return texts;
}

std::string expected(std::string_view what, const toml::node& node) {
  return "expected " + std::string(what) + ", got " + std::string(toml_type_name(node));
}

Section::Section(const OptionTable& options, Diagnostics& diagnostics, std::string_view pattern, std::string name,
                 const toml::table* table, std::size_t line)
    : options_(options), diagnostics_(diagnostics), pattern_(pattern), name_(std::move(name)), table_(table),
      line_(line) {
  if (table_ != nullptr) read_keys();
  read_value_files();
  apply_defaults();
  check_kinds();
}

std::size_t Section::line(std::string_view key) const {
  const auto found = lines_.find(key);
  return found == lines_.end() ? line_ : found->second;
}

// Written in the file even with a bad value: then it has no value, and defaults do not mask the error.
bool Section::has(std::string_view key) const {
  row(key);
  return lines_.contains(key);
}

// One message per key: a bad value is not also reported as missing, empty or unsafe.
void Section::error(std::string_view key, std::string_view message) {
  if (errors_.insert(std::string(key)).second) diagnostics_.add(line(key), path(key), message);
}

void Section::set_default(std::string_view key, std::string_view value) {
  if (has(key)) return;
  values_.insert_or_assign(std::string(key), checked_default(row(key), toml::value<std::string>(std::string(value))));
}

const OptionValue* Section::value(std::string_view key) const {
  row(key);
  const auto found = values_.find(key);
  return found == values_.end() ? nullptr : &found->second;
}

void Section::each_table(std::string_view key, const std::function<void(KindSection&)>& load) {
  const std::string nested = std::string(pattern_) + "." + std::string(key);
  const auto rows = std::ranges::find(options_.rows(), nested, &Option::section);
  if (rows == options_.rows().end()) throw std::logic_error("option table has no section " + nested);
  if (!values_.contains(key)) return;  // absent, or bad and reported
  const toml::array& tables = *table_->get(key)->as_array();
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const toml::table& table = *tables.get(i)->as_table();
    Section section(options_, diagnostics_, rows->section, path(key) + "[" + std::to_string(i) + "]", &table,
                    table.source().begin.line);
    load(section);
  }
}

// Every key the loader reads must be in the option table: that is what keeps --help and parsing in step.
const Option& Section::row(std::string_view key) const {
  const Option* option = options_.find(pattern_, key);
  if (option == nullptr) {
    throw std::logic_error("option table has no " + std::string(pattern_) + "." + std::string(key));
  }
  return *option;
}

OptionValue Section::checked_default(const Option& option, const toml::node& node) const {
  auto value = convert(option, node);
  if (!value) {
    throw std::logic_error("bad default of " + std::string(option.section) + "." + std::string(option.key) + ": " +
                           value.error());
  }
  return std::move(*value);
}

void Section::read_keys() {
  for (auto&& [key, node] : *table_) {
    const std::string_view name = key.str();
    const std::size_t at = key.source().begin.line;
    const Option* option = options_.find(pattern_, name);
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

// `KEY_file` stands for KEY when KEY is an option too: the file's content becomes KEY's value. Any other
// `_file` key (a CA bundle, a cipher key read apart from the text) names a path its reader opens.
void Section::read_value_files() {
  constexpr std::string_view kSuffix = "_file";
  for (const Option& option : options_.rows()) {
    if (option.section != pattern_ || !option.key.ends_with(kSuffix) || !has(option.key)) continue;
    const std::string_view key = option.key.substr(0, option.key.size() - kSuffix.size());
    if (options_.find(pattern_, key) == nullptr) continue;
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

void Section::apply_defaults() {
  for (const Option& option : options_.rows()) {
    if (option.section != pattern_ || has(option.key)) continue;
    if (option.required) {
      // A kind's required key is missing only where the kind is the section's.
      if (option.kinds.empty() || applies(option, nullptr).value_or(false)) error(option.key, "required");
    } else if (!option.default_value.empty()) {
      // Defaults are written as TOML, so they go through the same conversion as the file's values.
      const toml::table parsed = toml::parse("default = " + std::string(option.default_value));
      values_.emplace(option.key, checked_default(option, *parsed.get("default")));
    }
  }
}

// An enumerated key whose values other keys of its section are restricted to (kind, preset).
bool Section::is_discriminator(const Option& candidate) const {
  if (candidate.choices.empty()) return false;
  return std::ranges::any_of(options_.rows(), [&](const Option& o) {
    if (o.section != candidate.section || o.kinds.empty()) return false;
    const std::string_view first_kind = o.kinds.substr(0, o.kinds.find(','));
    return list_contains(candidate.choices, '|', first_kind);
  });
}

// A row with `kinds` applies only when one of the section's enumerated keys (handlers' kind; sources' kind
// or preset) has one of those values; nullopt when every such key is unset or bad, which decides nothing.
// `named` is set to the enumerated key whose values `kinds` lists, for messages.
std::optional<bool> Section::applies(const Option& option, const Option** named) const {
  bool decided = false;
  bool applies = false;
  const Option* lister = nullptr;
  for (const Option& o : options_.rows()) {
    if (o.section != pattern_ || !is_discriminator(o)) continue;
    const std::string_view first_kind = option.kinds.substr(0, option.kinds.find(','));
    if (list_contains(o.choices, '|', first_kind)) lister = &o;
    const std::string& value = str(o.key);
    if (value.empty() || !list_contains(o.choices, '|', value)) continue;
    decided = true;
    applies = applies || list_contains(option.kinds, ',', value);
  }
  if (lister == nullptr) {
    throw std::logic_error("no option has the kinds of " + std::string(option.section) + "." +
                           std::string(option.key));
  }
  if (named != nullptr) *named = lister;
  return decided ? std::optional<bool>(applies) : std::nullopt;
}

void Section::check_kinds() {
  for (const auto& [key, at] : lines_) {
    const Option& option = row(key);
    if (option.kinds.empty()) continue;
    const Option* named = nullptr;
    if (applies(option, &named) == false) {
      error(key, "only for " + std::string(named->key) + " " + replace_separator(option.kinds, ',', " or "));
    }
  }
}

}  // namespace projectord::config
