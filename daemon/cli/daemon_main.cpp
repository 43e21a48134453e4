#include "daemon/cli/daemon_main.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "daemon/cli/admin_client.hpp"
#include "daemon/cli/bash_completion.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/cli/man_page.hpp"
#include "daemon/cli/status_command.hpp"
#include "daemon/cli/usage.hpp"
#include "daemon/cli/verify.hpp"
#include "daemon/logging/logger.hpp"
#include "handlers/registry.hpp"

namespace projectord::cli {
namespace {

struct Arguments {
  std::string config = kDefaultConfig;
  std::string command;
  bool exit_when_caught_up = false;
  bool uninstall = false;
  bool show_errors = false;
  bool json = false;  // status --json
  std::string grants_for;  // migrate --print-grants ROLE
  std::string add_position_to;  // migrate --add-position SOURCE
  std::size_t batch_rows = 10000;  // migrate --add-position --batch-rows N
  std::string handler;   // pause, resume, skip, rebuild, retry, drop, reset-checkpoint, verify
  std::string endpoint;  // --http HOST:PORT (the admin commands, status)
  std::string query;     // rebuild --max-rate N, retry/drop --id N, reset-checkpoint --to N
  std::string detect_url;  // detect URL
};

bool is_admin(const std::string& command) {
  return command == "pause" || command == "resume" || command == "skip" || command == "rebuild" ||
         command == "retry" || command == "drop" || command == "reset-checkpoint";
}

// Whether the usage table lists `option` ("--id") among `command`'s.
bool has_option(const std::string& command, const std::string& option) {
  return std::ranges::any_of(forms_of(command), [&](const CommandEntry& form) {
    return std::ranges::any_of(form.options, [&](const UsageEntry& entry) { return entry.name() == option; });
  });
}

bool is_number(const std::string& text) {
  return !text.empty() && std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<Arguments> parse(const std::vector<std::string>& args, std::string& error) {
  Arguments parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--config") {
      if (i + 1 == args.size()) {
        error = "--config needs a file";
        return std::nullopt;
      }
      parsed.config = args[++i];
    } else if (arg.starts_with("--config=")) {
      parsed.config = arg.substr(9);
    } else if (arg == "--exit-when-caught-up" && parsed.command == "run") {
      parsed.exit_when_caught_up = true;
    } else if (arg == "--uninstall" && parsed.command == "migrate") {
      parsed.uninstall = true;
    } else if (arg == "--show-errors" && parsed.command == "status") {
      parsed.show_errors = true;
    } else if (arg == "--json" && parsed.command == "status") {
      parsed.json = true;
    } else if (arg == "--print-grants" && parsed.command == "migrate") {
      if (i + 1 == args.size() || args[i + 1].empty() || args[i + 1].starts_with("-")) {
        error = "--print-grants needs the role the daemon runs as";
        return std::nullopt;
      }
      parsed.grants_for = args[++i];
    } else if (arg == "--add-position" && parsed.command == "migrate") {
      if (i + 1 == args.size() || args[i + 1].empty() || args[i + 1].starts_with("-")) {
        error = "--add-position needs a PostgreSQL source's name";
        return std::nullopt;
      }
      parsed.add_position_to = args[++i];
    } else if (arg == "--batch-rows" && parsed.command == "migrate" && i + 1 < args.size()) {
      const std::string& rows = args[++i];
      if (!is_number(rows) || rows.size() > 9 || std::stoul(rows) == 0) {
        error = "--batch-rows needs a number of rows, 1 to 999999999";
        return std::nullopt;
      }
      parsed.batch_rows = std::stoul(rows);
    } else if (arg == "--http" && (is_admin(parsed.command) || parsed.command == "status") && i + 1 < args.size()) {
      parsed.endpoint = args[++i];
    } else if (arg == "--max-rate" && parsed.command == "rebuild" && i + 1 < args.size()) {
      const std::string& rate = args[++i];
      if (!is_number(rate)) {
        error = "--max-rate needs a number of events per second";
        return std::nullopt;
      }
      parsed.query = "max_rate=" + rate;
    } else if (arg == "--id" && (parsed.command == "retry" || parsed.command == "drop") && i + 1 < args.size()) {
      const std::string& id = args[++i];
      if (!is_number(id)) {
        error = "--id needs a dead letter's id (projectord status lists them)";
        return std::nullopt;
      }
      parsed.query = "id=" + id;
    } else if (arg == "--to" && parsed.command == "reset-checkpoint" && i + 1 < args.size()) {
      const std::string& to = args[++i];
      if (!is_number(to)) {
        error = "--to needs a position";
        return std::nullopt;
      }
      parsed.query = "to=" + to;
    } else if ((is_admin(parsed.command) || parsed.command == "verify") && parsed.handler.empty() &&
               !arg.starts_with("-")) {
      parsed.handler = arg;
    } else if (parsed.command == "detect" && parsed.detect_url.empty() && !arg.empty() && !arg.starts_with("-")) {
      parsed.detect_url = arg;
    } else if (parsed.command.empty() && !arg.starts_with("-")) {
      parsed.command = arg;
    } else if (!parsed.command.empty() && arg.starts_with("-")) {
      error = has_option(parsed.command, arg) ? arg + " needs a value" : parsed.command + " has no option '" + arg + "'";
      return std::nullopt;
    } else {
      error = "unexpected argument '" + arg + "'";
      return std::nullopt;
    }
  }
  return parsed;
}

// Where the command word is: the first argument that is neither an option nor --config's file; args.size()
// when there is none.
std::size_t command_at(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      ++i;
    } else if (!args[i].starts_with("-")) {
      return i;
    }
  }
  return args.size();
}

bool wants_help(const std::vector<std::string>& args) {
  return std::ranges::any_of(args, [](const std::string& arg) { return arg == "--help" || arg == "-h"; });
}

}  // namespace

// libpq waits for a server that accepted the connection but never answers (a hung host, a black-holing
// firewall) without limit. Every connection attempt is bounded instead, so that a listener reconnecting on
// the daemon's io thread cannot keep it from answering signals; PGCONNECT_TIMEOUT from the environment wins.
constexpr const char* kConnectTimeoutSeconds = "10";

int daemon_main(int argc, char** argv, std::vector<handlers::Kind> kinds) {
  for (handlers::Kind& kind : kinds) handlers::register_kind(std::move(kind));
  ::setenv("PGCONNECT_TIMEOUT", kConnectTimeoutSeconds, /*overwrite=*/0);
  // hiredis writes to its sockets with write(): a command sent to a Redis server that has closed the
  // connection (a restart) would end the process with SIGPIPE. Ignored, the write fails with EPIPE, which
  // the Redis client reports as a lost connection and the lane reconnects.
  std::signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::size_t command = command_at(args);
  const std::string command_word = command < args.size() ? args[command] : std::string();
  // `COMMAND --help` and `help COMMAND` print the command's own help; `--help` alone, or after a word that is
  // not a command, the whole.
  if (command_word == "help" || wants_help(args)) {
    std::string topic = command_word;
    if (command_word == "help") {
      // `help COMMAND`: COMMAND's; `help --help`: help's own; `help` alone: the whole.
      const auto named = std::find_if(args.begin() + static_cast<std::ptrdiff_t>(command) + 1, args.end(),
                                      [](const std::string& arg) { return !arg.starts_with("-"); });
      topic = named != args.end() ? *named : wants_help(args) ? "help" : "";
      if (!topic.empty() && forms_of(topic).empty()) {
        std::cerr << "projectord: unknown command '" << topic << "' (see projectord --help)\n";
        return 2;
      }
    }
    const std::string text = command_help_text(topic);
    std::cout << (text.empty() ? help_text(handlers::option_table()) : text);
    return 0;
  }
  if (std::ranges::find(args, "--version") != args.end()) {
    std::cout << "projectord " PROJECTORD_VERSION "\n";
    return 0;
  }
  // Hidden: the build writes the man pages with it (projectord.8, projectord.toml.5).
  if (args.size() == 2 && args[0] == "--man-page" && (args[1] == "8" || args[1] == "5")) {
    std::cout << (args[1] == "8" ? man_page_8() : man_page_5(handlers::option_table()));
    return 0;
  }
  // Hidden: the build writes the bash completion script with it.
  if (args.size() == 1 && args[0] == "--bash-completion") {
    std::cout << bash_completion_script();
    return 0;
  }
  std::string error;
  const auto arguments = parse(args, error);
  // The commands are the ones --help lists.
  const auto listed = [](const std::string& name) { return !name.empty() && !forms_of(name).empty(); };
  if (arguments && !listed(arguments->command)) {
    error = arguments->command.empty() ? "no command given" : "unknown command '" + arguments->command + "'";
  } else if (arguments && is_admin(arguments->command) && arguments->handler.empty()) {
    error = arguments->command + " needs a handler name";
  } else if (arguments && arguments->command == "verify" && arguments->handler.empty()) {
    error = "verify needs a handler name";
  } else if (arguments && arguments->command == "reset-checkpoint" && arguments->query.empty()) {
    error = "reset-checkpoint needs --to N";
  } else if (arguments && arguments->command == "detect" && arguments->detect_url.empty()) {
    error = "detect needs the URL of a PostgreSQL database";
  }
  if (!error.empty() && listed(command_word)) {
    std::cerr << "projectord: " << error << "\n\n" << command_help_text(command_word);
    return 2;
  }
  if (!error.empty()) {
    std::cerr << "projectord: " << error << " (see projectord --help)\n";
    return 2;
  }

  if (arguments->command == "detect") return command_detect(arguments->detect_url);

  const auto loaded = config::load_config(arguments->config, handlers::option_table());
  if (!loaded.ok()) {
    for (const std::string& line : loaded.errors) std::cerr << line << "\n";
    return arguments->command == "verify" ? 2 : 1;  // verify's 1 means a difference
  }
  const config::Config& config = loaded.config;
  logging::install_logger(config.daemon);

  if (arguments->command == "run") return command_run(config, arguments->exit_when_caught_up);
  if (arguments->command == "migrate" && !arguments->grants_for.empty()) {
    return command_print_grants(config, arguments->grants_for);
  }
  if (arguments->command == "migrate" && !arguments->add_position_to.empty()) {
    return command_add_position(config, arguments->add_position_to, arguments->batch_rows);
  }
  if (arguments->command == "migrate") return command_migrate(config, arguments->uninstall);
  if (arguments->command == "check-config") return command_check_config(config);
  if (arguments->command == "verify") return command_verify(config, arguments->handler);
  if (is_admin(arguments->command)) {
    return command_admin(config, arguments->command, arguments->handler, arguments->endpoint,
                                          arguments->query);
  }
  return command_status(config, StatusOptions{.json = arguments->json, .show_errors = arguments->show_errors,
                                              .endpoint = arguments->endpoint});
}

}  // namespace projectord::cli
