// The command line as an operator meets it: each command's own help, an option a command does not take, the
// bash completion the build writes, and `projectord status` as a table and as JSON.
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

// The lines of `projectord status`'s table: the header, then one per handler, up to a blank line or a note in
// parentheses.
std::vector<std::string> table_lines(const std::string& output) {
  std::vector<std::string> lines;
  std::istringstream text(output);
  for (std::string line; std::getline(text, line) && !line.empty() && !line.starts_with("(");) lines.push_back(line);
  return lines;
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
  const auto status = run_command({kBinary, "status", "--help"});
  CHECK_THAT(status.output, Catch::Contains("--json") && Catch::Contains("--show-errors") &&
                                Catch::Contains("--http HOST:PORT"));
  CHECK(status.output.find("Configuration (") == std::string::npos);  // not the whole --help
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

TEST_CASE("projectord status prints a table with one row per handler, and status --json every handler") {
  TestDatabase db;
  write_events(db, 60);
  const std::string config = migrated(db, "status.toml", demo_config());

  // No daemon: positions and dead letters from the database; state and lag time are the daemon's.
  const auto offline = run_command({kBinary, "--config", config, "status"}, env_for(db));
  INFO(offline.output);
  CHECK(offline.exit_code == 0);
  auto lines = table_lines(offline.output);
  REQUIRE(lines.size() == 3);
  CHECK(std::regex_match(lines[0], std::regex("HANDLER +SOURCE +STATE +POSITION +HEAD +LAG +LAG TIME +DEAD LETTERS +REASON")));
  CHECK(std::regex_match(lines[1], std::regex("user_log +shop +never_started +0 +\\d+ +60 +- +0")));
  CHECK(std::regex_match(lines[2], std::regex("users +shop +never_started +0 +\\d+ +60 +- +0")));
  CHECK(lines[1].find("shop") == lines[0].find("SOURCE"));  // aligned
  CHECK_THAT(offline.output, Catch::Contains("state and lag time are the running daemon's to tell"));

  const auto offline_json =
      run_command({"/bin/sh", "-c", "'" + kBinary + "' --config '" + config + "' status --json 2>/dev/null"}, env_for(db));
  INFO(offline_json.output);
  const boost::json::value parsed_offline = boost::json::parse(offline_json.output);
  CHECK(parsed_offline.at("handlers").as_array().size() == 2);
  CHECK(parsed_offline.at("handlers").at(1).at("lag_positions").as_int64() == 60);
  CHECK(parsed_offline.at("handlers").at(1).at("lag_seconds").is_null());

  // A running daemon: its state, reason and lag time.
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  // Idle at the head: a lane reports its position before it leaves the starting state.
  REQUIRE(eventually([&] {
    return http.position("users") == head(db) && http.position("user_log") == head(db) &&
           http.state("users") == "idle" && http.state("user_log") == "idle";
  }));
  const std::string endpoint = "127.0.0.1:" + std::to_string(http_port(daemon));
  const auto running = run_command({kBinary, "--config", config, "status", "--http", endpoint}, env_for(db));
  INFO(running.output);
  CHECK(running.exit_code == 0);
  lines = table_lines(running.output);
  REQUIRE(lines.size() == 3);
  const std::string at_head = std::to_string(head(db));
  for (const std::string handler : {"user_log", "users"}) {
    CHECK(std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
            return std::regex_match(line, std::regex(handler + " +shop +idle +" + at_head + " +" + at_head +
                                                     " +0 +(\\d+(\\.\\d)?s|\\d+m\\d\\ds) +0"));
          }) == 1);
  }
  CHECK(running.output.find("running daemon's to tell") == std::string::npos);

  const auto running_json = run_command(
      {"/bin/sh", "-c", "'" + kBinary + "' --config '" + config + "' status --json --http " + endpoint + " 2>/dev/null"},
      env_for(db));
  INFO(running_json.output);
  const boost::json::value parsed = boost::json::parse(running_json.output);
  std::vector<std::string> names;
  for (const auto& entry : parsed.at("handlers").as_array()) names.emplace_back(entry.at("name").as_string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"user_log", "users"});
  CHECK(parsed.at("handlers").at(0).at("state").as_string() == "idle");

  // An endpoint named on the command line that does not answer is an error, not a quiet fallback.
  const auto nobody = run_command({kBinary, "--config", config, "status", "--http", "127.0.0.1:1"}, env_for(db));
  CHECK(nobody.exit_code == 1);
  CHECK_THAT(nobody.output, Catch::Contains("cannot reach the running daemon at 127.0.0.1:1"));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
