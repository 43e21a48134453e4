// The command line as an operator meets it: each command's own help, an option a command does not take and
// the bash completion the build writes.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

const std::string kCompletion = std::string(PROJECTORD_BUILD_DIR) + "/projectord.bash-completion";

// The commands --help lists under "Commands:" (each entry's first word, once), and each one's options as
// its synopsis shows them ("[--max-rate N]" -> "--max-rate").
std::vector<std::pair<std::string, std::vector<std::string>>> listed_commands() {
  const auto help = run_command({kBinary, "--help"});
  REQUIRE(help.exit_code == 0);
  std::vector<std::pair<std::string, std::vector<std::string>>> listed;
  std::istringstream lines(help.output);
  std::string line;
  bool in_commands = false;
  while (std::getline(lines, line)) {
    if (line == "Commands:" || line == "Options:") in_commands = line == "Commands:";
    if (!in_commands || !line.starts_with("  ") || line[2] < 'a' || line[2] > 'z') continue;
    std::istringstream words(line);
    std::string command;
    words >> command;
    if (listed.empty() || listed.back().first != command) listed.push_back({command, {}});
    const std::string synopsis = line.substr(0, line.find("  ", 2));
    for (const std::regex option("--[a-z-]+"); const auto& match :
         std::vector(std::sregex_iterator(synopsis.begin(), synopsis.end(), option), std::sregex_iterator())) {
      listed.back().second.push_back(match.str());
    }
  }
  return listed;
}

// What bash completes for the words of `line` (the last one the one being completed) with the build's script.
std::vector<std::string> completions(const std::string& line) {
  std::string script = "source '" + kCompletion + "' && read -r -a COMP_WORDS <<< '" + line + "'";
  if (line.ends_with(" ")) script += " && COMP_WORDS+=('')";
  script += " && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && COMP_LINE='" + line +
            "' && _projectord && printf '%s\\n' \"${COMPREPLY[@]}\"";
  const auto result = run_command({"/bin/bash", "--norc", "--noprofile", "-c", script});
  INFO(script << "\n" << result.output);
  REQUIRE(result.exit_code == 0);
  std::vector<std::string> words;
  std::istringstream lines(result.output);
  for (std::string word; std::getline(lines, word);) {
    if (!word.empty()) words.push_back(word);
  }
  return words;
}

std::vector<std::string> sorted(std::vector<std::string> words) {
  std::sort(words.begin(), words.end());
  return words;
}

bool contains(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

}  // namespace

TEST_CASE("every command --help lists has its own help naming each of its options") {
  const auto listed = listed_commands();
  REQUIRE(listed.size() >= 14);
  for (const auto& [command, options] : listed) {
    for (const auto& args : {std::vector<std::string>{kBinary, command, "--help"},
                             std::vector<std::string>{kBinary, "help", command}}) {
      const auto help = run_command(args);
      INFO(args[1] << " " << args[2] << ":\n" << help.output);
      CHECK(help.exit_code == 0);
      CHECK_THAT(help.output, Catch::StartsWith("Usage:\n  projectord [--config FILE] " + command));
      CHECK_THAT(help.output, Catch::Contains("\nOptions:\n"));
      for (const std::string& option : options) CHECK_THAT(help.output, Catch::Contains("  " + option));
    }
  }
  const auto rebuild = run_command({kBinary, "rebuild", "--help"});
  CHECK_THAT(rebuild.output, Catch::Contains("--max-rate N") && Catch::Contains("--http HOST:PORT"));
  CHECK(rebuild.output.find("Configuration (") == std::string::npos);  // not the whole --help
}

TEST_CASE("an option a command does not take prints that command's usage to stderr and exits 2") {
  const auto result = run_command({"/bin/sh", "-c", "'" + kBinary + "' status --frobnicate 2>&1 >/dev/null"});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output, Catch::StartsWith("projectord: status has no option '--frobnicate'") &&
                                Catch::Contains("projectord [--config FILE] status [") &&
                                Catch::Contains("--show-errors"));
  const auto stdout_only = run_command({"/bin/sh", "-c", "'" + kBinary + "' rebuild users --json 2>/dev/null"});
  CHECK(stdout_only.exit_code == 2);
  CHECK(stdout_only.output.empty());
  const auto missing_value = run_command({kBinary, "rebuild", "users", "--max-rate"});
  CHECK(missing_value.exit_code == 2);
  CHECK_THAT(missing_value.output, Catch::Contains("--max-rate needs a value"));
  const auto unknown = run_command({kBinary, "help", "frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("unknown command 'frobnicate'"));
}

TEST_CASE("the bash completion the build writes completes commands, a command's options and handler names") {
  const std::string config = write_file("completion.toml", demo_config());
  const auto registered = run_command({"/bin/bash", "--norc", "--noprofile", "-c",
                                       "source '" + kCompletion + "' && complete -p projectord"});
  CHECK_THAT(registered.output, Catch::Contains("complete -F _projectord projectord"));

  CHECK(completions("projectord sta") == std::vector<std::string>{"status"});
  CHECK(completions("projectord re") == std::vector<std::string>{"resume", "rebuild", "retry", "reset-checkpoint"});
  const auto status_options = completions("projectord status --");
  CHECK(contains(status_options, "--json"));
  CHECK(contains(status_options, "--show-errors"));
  CHECK(contains(status_options, "--http"));
  CHECK(completions("projectord --config " + config + " rebuild users --m") == std::vector<std::string>{"--max-rate"});
  CHECK(sorted(completions("projectord --config " + config + " pause ")) == std::vector<std::string>{"user_log", "users"});
  CHECK(sorted(completions("projectord --config " + config + " rebuild us")) == std::vector<std::string>{"user_log", "users"});
  CHECK(completions("projectord --config " + config + " rebuild users ").empty());  // one handler per command
  CHECK(completions("projectord --config " + config + " migrate --add-position ") == std::vector<std::string>{"shop"});
  CHECK(completions("projectord --config /nonexistent.toml pause ").empty());
  CHECK(completions("projectord help ch") == std::vector<std::string>{"check-config"});
}
