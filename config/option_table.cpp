#include "config/option_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "config/byte_size.hpp"

namespace projectord::config {
namespace {

using enum OptionType;

constexpr std::string_view kHandlers = "handlers.*";

std::string joined(const std::vector<std::string_view>& items, std::string_view glue) {
  std::string out;
  for (const std::string_view item : items) out += (out.empty() ? "" : std::string(glue)) + std::string(item);
  return out;
}

bool same_except_kinds(Option a, Option b) {
  a.kinds = b.kinds = {};
  return a == b;
}

std::string_view type_name(OptionType type) {
  switch (type) {
    case string:
      return "string";
    case integer:
      return "integer";
    case boolean:
      return "boolean";
    case duration:
      return "duration";
    case byte_size:
      return "bytes";
    case string_list:
      return "strings";
    case table_list:
      return "tables";
    case string_map:
      return "table";
    case json_table:
      return "values";
  }
  return "?";
}

}  // namespace

OptionTable::OptionTable(std::vector<HandlerKind> kinds) : kinds_(std::move(kinds)) {
  std::vector<std::string_view> names, projections, side_effects, table_defaults, table_kinds;
  for (const HandlerKind& kind : kinds_) {
    if (std::ranges::count(names, kind.name) > 0) throw std::logic_error("handler kind " + kind.name + " twice");
    names.push_back(kind.name);
    (kind.side_effect ? side_effects : projections).push_back(kind.name);
    if (!kind.default_table.empty()) {
      table_kinds.push_back(kind.name);
      table_defaults.push_back(keep(kind.default_table + " (" + kind.name + ")"));
    }
  }

  for (const Option& row : fixed_options()) {
    if (row.section != kHandlers) rows_.push_back(row);
  }
  std::string kind_help = "What the handler does: a projection (" + joined(projections, ", ") + ")";
  if (!side_effects.empty()) kind_help += " or a side effect, delivered at least once (" + joined(side_effects, ", ") + ")";
  rows_.push_back({.section = kHandlers, .key = "kind", .type = string, .reloadable = true,
                   .help = keep(kind_help + "."), .required = true, .choices = keep(joined(names, "|"))});
  for (const Option& row : fixed_options()) {
    if (row.section == kHandlers) rows_.push_back(row);
  }
  const std::string_view rebuildable = keep(joined(projections, ","));
  rows_.push_back({.section = kHandlers, .key = "rebuild_on_signal", .type = boolean, .default_value = "false",
                   .kinds = rebuildable, .reloadable = true,
                   .help = "SIGUSR1 rebuilds this handler's read model (blue/green, like POST /admin/rebuild/NAME)."});
  rows_.push_back({.section = kHandlers, .key = "rebuild_max_rate", .type = integer, .default_value = "0",
                   .kinds = rebuildable, .reloadable = true,
                   .help = "Events/s a rebuild replays at most (0: unlimited); POST /admin/rebuild/NAME?max_rate=N"
                           " overrides.",
                   .min_value = 0, .max_value = 100000000});
  rows_.push_back({.section = kHandlers, .key = "tracking_table", .type = string, .kinds = rebuildable,
                   .reloadable = true,
                   .help = "A pyeventsourcing tracking table (e.g. public.projections_tracking, either layout) that"
                           " every batch's transaction sets to the checkpoint, and whose position for"
                           " tracking_application a checkpoint behind it starts from: a Python projection and"
                           " projectord hand the place over in both directions."});
  rows_.push_back({.section = kHandlers, .key = "tracking_application", .type = string, .kinds = rebuildable,
                   .reloadable = true,
                   .help = "The upstream application's name in the tracking table's rows (application_name);"
                           " required with tracking_table."});
  if (!side_effects.empty()) {
    rows_.push_back({.section = kHandlers, .key = "start", .type = string, .default_value = R"("beginning")",
                     .kinds = keep(joined(side_effects, ",")), .reloadable = true,
                     .help = "Where the side effect begins when it has no checkpoint yet: beginning (every event of"
                             " the history) or head (the source's head when it first runs, so that a side effect"
                             " added to a store with history acts on new events only). Postgres sources only.",
                     .choices = "beginning|head"});
  }
  if (!table_kinds.empty()) {
    rows_.push_back({.section = kHandlers, .key = "table", .type = string, .kinds = keep(joined(table_kinds, ",")),
                     .reloadable = true, .help = keep("Target table; default " + joined(table_defaults, ", ") + ".")});
  }

  const std::size_t first_kind_row = rows_.size();
  std::vector<Option> nested;  // rows of the tables of table_list keys, printed after [handlers.NAME]
  for (const HandlerKind& kind : kinds_) add_kind_rows(kind, first_kind_row, nested);
  rows_.insert(rows_.end(), nested.begin(), nested.end());
}

void OptionTable::add_kind_rows(const HandlerKind& kind, std::size_t first_kind_row, std::vector<Option>& nested) {
  for (Option row : kind.options) {
    const std::string where = std::string(row.section) + "." + std::string(row.key);
    if (row.section != kHandlers) {
      if (!row.section.starts_with(std::string(kHandlers) + ".")) {
        throw std::logic_error("handler kind " + kind.name + " declares " + where + ", outside handlers.*");
      }
      const auto same = std::ranges::find_if(nested, [&](const Option& o) { return o.section == row.section && o.key == row.key; });
      if (same == nested.end()) {
        nested.push_back(row);
      } else if (*same != row) {
        throw std::logic_error("handler kind " + kind.name + " declares " + where + " unlike another kind");
      }
      continue;
    }
    const auto same = std::ranges::find_if(rows_, [&](const Option& o) { return o.section == kHandlers && o.key == row.key; });
    if (same == rows_.end()) {
      row.kinds = kind.name;
      rows_.push_back(row);
    } else if (static_cast<std::size_t>(same - rows_.begin()) < first_kind_row) {
      throw std::logic_error("handler kind " + kind.name + " declares " + where + ", a key it cannot redefine");
    } else if (!same_except_kinds(*same, row)) {
      throw std::logic_error("handler kind " + kind.name + " declares " + where + " unlike another kind");
    } else {
      same->kinds = keep(std::string(same->kinds) + "," + kind.name);
    }
  }
}

std::string_view OptionTable::keep(std::string text) { return texts_.emplace_back(std::move(text)); }

const Option* OptionTable::find(std::string_view section, std::string_view key) const {
  const auto it = std::ranges::find_if(rows_, [&](const Option& o) { return o.section == section && o.key == key; });
  return it == rows_.end() ? nullptr : &*it;
}

bool OptionTable::has_section(std::string_view section) const {
  return std::ranges::any_of(rows_, [&](const Option& o) { return o.section == section; });
}

const HandlerKind* OptionTable::kind(std::string_view name) const {
  const auto it = std::ranges::find(kinds_, name, &HandlerKind::name);
  return it == kinds_.end() ? nullptr : &*it;
}

std::string OptionTable::section_header(std::string_view section) const {
  std::string name(section);
  if (const auto star = name.find('*'); star != std::string::npos) name.replace(star, 1, "NAME");
  const auto dot = section.rfind('.');
  const Option* parent = dot == std::string_view::npos ? nullptr : find(section.substr(0, dot), section.substr(dot + 1));
  return parent != nullptr && parent->type == table_list ? "[[" + name + "]]" : "[" + name + "]";
}

OptionTable::RowHelp OptionTable::describe(const Option& o) {
  std::string text(o.help);
  if (!o.choices.empty()) text += " [" + std::string(o.choices) + "]";
  if (o.max_value > 0) {
    text += o.type == byte_size ? fmt::format(" [{}..{}]", format_byte_size(o.min_value), format_byte_size(o.max_value))
                                : fmt::format(" [{}..{}]", o.min_value, o.max_value);
  }
  if (!o.kinds.empty()) text += " (only: " + std::string(o.kinds) + ")";
  if (!o.reloadable) text += " (restart)";
  return {.type = type_name(o.type),
          .shown_default = o.required ? "required" : o.default_value.empty() ? "-" : o.default_value,
          .text = std::move(text)};
}

std::string OptionTable::help() const {
  std::string out(kLegend);
  std::string_view section;
  for (const Option& o : rows_) {
    if (o.section != section) {
      section = o.section;
      out += section_header(section) + "\n";
    }
    const RowHelp row = describe(o);
    out += fmt::format("  {:<19} {:<9} {:<10} {}\n", o.key, row.type, row.shown_default, row.text);
  }
  return out;
}

}  // namespace projectord::config
