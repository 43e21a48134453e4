#include "daemon/cli/man_page.hpp"

#include "daemon/cli/usage.hpp"

namespace projectord::cli {
namespace {

// The man macros' title line; the date is left out so that the pages depend on the sources alone. Lines
// are filled but not justified, and words never hyphenated: most long words are names to type (keys,
// commands, ${VARIABLES}) that a hyphen would misquote.
std::string title(std::string_view name, std::string_view section, std::string_view manual) {
  return ".TH " + std::string(name) + " " + std::string(section) + " \"\" \"projectord " PROJECTORD_VERSION "\" \"" +
         std::string(manual) + "\"\n.nh\n.ad l\n";
}

// A tagged paragraph: `tag` in bold and `note` after it, `text` indented under them.
std::string tagged(std::string_view tag, std::string_view text, std::string_view note = "") {
  return ".TP\n\\fB" + roff_text(tag) + "\\fR" + roff_text(note) + "\n" + roff_text(text) + "\n";
}

// " (string, default "info")", " (integer, required)", " (string)": what a key's tag says after its name.
std::string type_and_default(const config::OptionTable::RowHelp& help) {
  const std::string type(help.type);
  if (help.shown_default == "-") return " (" + type + ")";
  if (help.shown_default == "required") return " (" + type + ", required)";
  return " (" + type + ", default " + std::string(help.shown_default) + ")";
}

}  // namespace

std::string roff_text(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    switch (c) {
      case '\\':
        out += "\\e";
        break;
      case '-':
        out += "\\-";
        break;
      case '|':
        out += c;
        out += "\\:";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string man_page_8() {
  std::string out = title("PROJECTORD", "8", "System Administration");
  out += ".SH NAME\nprojectord \\- " + roff_text(kSummary) + "\n";
  out += ".SH SYNOPSIS\n" + roff_text(kSynopsis) + "\n";
  out += ".SH DESCRIPTION\n"
         "projectord reads events from PostgreSQL tables and Redis streams and applies them to read models in\n"
         "PostgreSQL, each handler's checkpoint in the same transaction as its changes, or hands them to side\n"
         "effects. The configuration file, by default " + roff_text(kDefaultConfig) + ", is described in\n"
         "\\fBprojectord.toml\\fR(5).\n";
  out += ".SH COMMANDS\n";
  for (const CommandEntry& command : commands()) {
    out += tagged(command.synopsis, command.text);
    if (command.options.empty()) continue;
    out += ".RS\n";
    for (const UsageEntry& option : command.options) out += tagged(option.synopsis, option.text);
    out += ".RE\n";
  }
  out += ".PP\n" + roff_text(kAdminNote) + "\n";
  out += ".SH OPTIONS\n";
  for (const UsageEntry& option : options()) out += tagged(option.synopsis, option.text);
  out += ".SH FILES\n" + tagged(kDefaultConfig, "the configuration file read unless --config names another");
  out += ".SH SEE ALSO\n\\fBprojectord.toml\\fR(5), \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1)\n";
  return out;
}

std::string man_page_5(const config::OptionTable& table) {
  std::string out = title("PROJECTORD.TOML", "5", "File Formats");
  out += ".SH NAME\nprojectord.toml \\- configuration file of projectord\n";
  out += ".SH DESCRIPTION\nThe configuration of \\fBprojectord\\fR(8), by default " + roff_text(kDefaultConfig) +
         ": " + roff_text(kConfigurationIntro) + ".\n.PP\n" + roff_text(config::OptionTable::kLegend);
  out += ".PP\nEach key below is followed by its type and default.\n";
  out += ".SH OPTIONS\n";
  std::string_view section;
  for (const config::Option& row : table.rows()) {
    if (row.section != section) {
      section = row.section;
      out += ".SS\n" + roff_text(table.section_header(section)) + "\n";
    }
    const config::OptionTable::RowHelp help = config::OptionTable::describe(row);
    out += tagged(row.key, help.text, type_and_default(help));
  }
  out += ".SH SEE ALSO\n\\fBprojectord\\fR(8)\n";
  return out;
}

}  // namespace projectord::cli
