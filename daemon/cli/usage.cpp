#include "daemon/cli/usage.hpp"

#include <algorithm>

namespace projectord::cli {
namespace {

// The help's layout: synopses in a column of this width after two spaces, texts wrapped after it.
constexpr std::size_t kSynopsisWidth = 29;
constexpr std::size_t kLineWidth = 112;

// `entry` as help lines: the synopsis, then its text filled to kLineWidth in the column after the synopses;
// a synopsis too wide for its column gets a line of its own.
std::string help_lines(const UsageEntry& entry) {
  const std::string indent(2 + kSynopsisWidth + 2, ' ');
  std::string out = "  " + entry.synopsis;
  std::string line;
  if (entry.synopsis.size() <= kSynopsisWidth) {
    line = out + std::string(kSynopsisWidth - entry.synopsis.size() + 2, ' ');
    out.clear();
  } else {
    out += "\n";
    line = indent;
  }
  bool line_empty = true;
  std::size_t start = 0;
  while (start < entry.text.size()) {
    std::size_t end = entry.text.find(' ', start);
    if (end == std::string::npos) end = entry.text.size();
    const std::string_view word = std::string_view(entry.text).substr(start, end - start);
    if (!line_empty && line.size() + 1 + word.size() > kLineWidth) {
      out += line + "\n";
      line = indent;
      line_empty = true;
    }
    line += (line_empty ? "" : " ") + std::string(word);
    line_empty = false;
    start = end + 1;
  }
  return out + line + "\n";
}

}  // namespace

const std::vector<CommandEntry>& commands() {
  const UsageEntry http{"--http HOST:PORT", "the running daemon's HTTP endpoint (default: [http] listen)"};
  static const std::vector<CommandEntry> kCommands{
      {"run [--exit-when-caught-up]",
       "tail the sources and run every handler until SIGTERM/SIGINT (--exit-when-caught-up: exit 0 once every "
       "handler reached the head); SIGHUP reloads the config file",
       {{"--exit-when-caught-up", "exit 0 once every handler reached the head of its source"}}},
      {"migrate [--uninstall]",
       "install (or remove) the projectord schema, NOTIFY triggers and read-model tables; idempotent; run it as "
       "the tables' owner",
       {{"--uninstall", "remove the projectord schema and the NOTIFY triggers; read-model tables stay"}}},
      {"migrate --print-grants ROLE",
       "print, as SQL for psql run by the owner, the least privileges ROLE needs to run the daemon: SELECT on "
       "the sources, DML on the projectord schema and the read models, TEMPORARY for staging tables, and for "
       "rebuilds CREATE on the database and ownership of the read-model tables",
       {{"--print-grants ROLE", "print the grants ROLE needs instead of migrating"}}},
      {"migrate --add-position SOURCE [--batch-rows N]",
       "give SOURCE's table (Eventuali's events) its position_column as an identity column, old rows numbered in "
       "recorded-at order, in batches of N rows (default 10000) without a long lock; resumable: run it again "
       "after an interruption; before the daemon tails the source",
       {{"--add-position SOURCE", "number the rows of the PostgreSQL source SOURCE's table"},
        {"--batch-rows N", "rows numbered per transaction (default 10000)"}}},
      {"check-config", "validate the config file; exit 0 when valid, 1 otherwise", {}},
      {"detect URL",
       "recognise the event stores in the PostgreSQL database URL names (pyeventsourcing, eventsourcing_django, "
       "Django EventStoreRecord, djangoevents, Eventuali) by their columns, sample their payloads for the codec "
       "and print a config for them (url from ${DATABASE_URL}, handlers commented out); reads no config file",
       {}},
      {"verify HANDLER",
       "rebuild HANDLER's read model up to its checkpoint into a copy that is dropped after, and compare it row "
       "by row with the live tables; the daemon may run meanwhile; exit 0 when equal, 1 on a difference (the "
       "first 20 shown per table), 2 when it cannot be done",
       {}},
      {"status [--json] [--show-errors]",
       "a table of the handlers: source, state, checkpoint position, head of the source, lag in events and in "
       "time, dead letters and, when not idle, why; then each dead letter (what retry and drop --id take) and "
       "rebuilds in progress. Positions and dead letters are read from the database, so it works with no daemon "
       "running; state and lag time come from the running daemon's /status when it answers",
       {{"--json", "print the running daemon's /status JSON; with no daemon answering, the same fields read "
                   "from the database (state and lag_seconds null)"},
        {"--show-errors", "show errors' text, not only their class (connection, unique_violation, ...): it "
                          "can quote event data"},
        http}},
      {"pause HANDLER", "ask the running daemon to pause a handler after its transaction", {http}},
      {"resume HANDLER", "ask the running daemon to resume a handler (a halted one retries its poison event)", {http}},
      {"skip HANDLER", "ask the running daemon to dead-letter the event a halted handler stopped on", {http}},
      {"rebuild HANDLER [--max-rate N]",
       "ask the running daemon to rebuild a handler's read model blue/green (replay into a shadow copy at most N "
       "events/s, swap when caught up); SIGUSR1 rebuilds those marked rebuild_on_signal",
       {{"--max-rate N", "replay at most N events per second (0: unlimited; default: the handler's max_rate)"},
        http}},
      {"retry HANDLER [--id N]",
       "ask the running daemon to apply a handler's dead letters again (all, or the one with id N), out of "
       "order; one that fails again stays, with the new error",
       {{"--id N", "only the dead letter with id N (projectord status lists them)"}, http}},
      {"drop HANDLER [--id N]", "ask the running daemon to delete a handler's dead letters for good",
       {{"--id N", "only the dead letter with id N (projectord status lists them)"}, http}},
      {"reset-checkpoint HANDLER --to N",
       "ask the running daemon to move a handler's checkpoint to position N (at most the source's head), with "
       "no holes: the way out of source_rewound (a store that went backwards) short of a rebuild",
       {{"--to N", "the position the checkpoint moves to (required)"}, http}},
      {"help [COMMAND]", "print this help, or COMMAND's: its forms and its options", {}},
  };
  return kCommands;
}

std::vector<CommandEntry> forms_of(const std::string& command) {
  std::vector<CommandEntry> forms;
  for (const CommandEntry& entry : commands()) {
    if (entry.name() == command) forms.push_back(entry);
  }
  return forms;
}

const std::vector<UsageEntry>& options() {
  static const std::vector<UsageEntry> kOptions{
      {"--config FILE", "config file (default " + std::string(kDefaultConfig) + ")"},
      {"--version", "print the version"},
      {"--help", "print this help; after a command, the command's"},
  };
  return kOptions;
}

std::string help_text(const config::OptionTable& table) {
  std::string out = "projectord " PROJECTORD_VERSION " - " + std::string(kSummary) + "\n\nUsage: " +
                    std::string(kSynopsis) + "\n\nCommands:\n";
  for (const CommandEntry& command : commands()) out += help_lines({command.synopsis, command.text});
  out += help_lines({"", std::string(kAdminNote)}) + "\nOptions:\n";
  for (const UsageEntry& option : options()) out += help_lines(option);
  return out + "\nConfiguration (" + std::string(kConfigurationIntro) + "):\n" + table.help();
}

std::string command_help_text(const std::string& command) {
  const std::vector<CommandEntry> forms = forms_of(command);
  if (forms.empty()) return {};
  std::string out = "Usage:\n";
  for (const CommandEntry& form : forms) out += "  projectord [--config FILE] " + form.synopsis + "\n";
  out += "\n";
  std::vector<UsageEntry> options;
  for (const CommandEntry& form : forms) {
    // A command of several forms says which text is whose, as --help does.
    out += help_lines({forms.size() == 1 ? "" : form.synopsis, form.text});
    for (const UsageEntry& option : form.options) {
      if (std::ranges::none_of(options, [&](const UsageEntry& known) { return known.synopsis == option.synopsis; })) {
        options.push_back(option);
      }
    }
  }
  options.push_back({"--help", "print this help"});
  out += "\nOptions:\n";
  for (const UsageEntry& option : options) out += help_lines(option);
  return out;
}

}  // namespace projectord::cli
