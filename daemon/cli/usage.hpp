#pragma once
/// The binary's usage as data: its commands, each with its own options, and the global options, each with the
/// one paragraph that describes it. `projectord --help` (help_text), `projectord COMMAND --help`
/// (command_help_text), the man page projectord(8) (daemon/cli/man_page.hpp) and the bash completion
/// (daemon/cli/bash_completion.hpp) are rendered from these lists, and projectord.toml(5) and the help's
/// "Configuration" part from the option table, so the help, the pages and the completion describe the same
/// commands, options and keys in the same words.
#include <string>
#include <string_view>
#include <vector>

#include "config/option_table.hpp"

namespace projectord::cli {

inline constexpr std::string_view kSummary = "projection worker for event stores in PostgreSQL and Redis Streams";
inline constexpr std::string_view kSynopsis = "projectord [--config FILE] COMMAND [OPTIONS]";
inline constexpr const char* kDefaultConfig = "/etc/projectord/projectord.toml";

/// One entry of a usage list: what to type, and what it does.
struct UsageEntry {
  std::string synopsis;
  std::string text;

  /// What is typed first: the option ("--id" of "--id N") or command.
  std::string name() const { return synopsis.substr(0, synopsis.find(' ')); }
};

/// One form of a command (migrate has three): its synopsis, what it does, and the options it takes.
struct CommandEntry {
  std::string synopsis;
  std::string text;
  std::vector<UsageEntry> options;

  /// The command word: the synopsis's first.
  std::string name() const { return synopsis.substr(0, synopsis.find(' ')); }
};

const std::vector<CommandEntry>& commands();
/// The forms of `command` in the list; none when it is not a command.
std::vector<CommandEntry> forms_of(const std::string& command);
/// What the commands that call the running daemon share, said once after the list.
inline constexpr std::string_view kAdminNote =
    "pause, resume, skip, rebuild, retry, drop and reset-checkpoint use [http] listen and admin_token, and status "
    "asks it for the daemon's state; --http HOST:PORT names another endpoint.";
const std::vector<UsageEntry>& options();
/// How the configuration file is written, before the option table's reference.
inline constexpr std::string_view kConfigurationIntro =
    "TOML; ${ENV} and ${ENV:-default} are interpolated, KEY_file reads KEY from a file";

/// `projectord --help`: the synopsis, the commands and options with their texts wrapped, and `table`'s
/// reference.
std::string help_text(const config::OptionTable& table);
/// `projectord COMMAND --help`: the command's forms with their texts and its options; empty when `command`
/// is not one.
std::string command_help_text(const std::string& command);

}  // namespace projectord::cli
