// The man pages the build writes (projectord.8, projectord.toml.5) against groff and against the binary's
// own --help: they render without a warning, and they name every command and config key the help names.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace projectord::testing::blackbox;
using projectord::testing::run_command;

namespace {

const std::string kPage8 = std::string(PROJECTORD_BUILD_DIR) + "/projectord.8";
const std::string kPage5 = std::string(PROJECTORD_BUILD_DIR) + "/projectord.toml.5";

std::string file_text(const std::string& path) {
  std::ifstream file(path);
  REQUIRE(file);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// `line` with the roff escapes the pages use undone: \- \e and the zero-width \& \: and font changes.
std::string plain(std::string line) {
  for (const auto& [escape, text] : {std::pair<std::string, std::string>{"\\-", "-"}, {"\\e", "\\"}, {"\\&", ""},
                                     {"\\:", ""}, {"\\fB", ""}, {"\\fR", ""}, {"\\fI", ""}}) {
    for (auto at = line.find(escape); at != std::string::npos; at = line.find(escape, at + text.size())) {
      line.replace(at, escape.size(), text);
    }
  }
  return line;
}

std::string first_word(const std::string& line) {
  std::istringstream words(line);
  std::string word;
  words >> word;
  return word;
}

// The first words of a page's tagged paragraphs and subsection headings (the line after .TP or .SS).
std::set<std::string> tags_of(const std::string& page) {
  std::set<std::string> tags;
  std::istringstream lines(page);
  std::string line;
  bool tag_follows = false;
  while (std::getline(lines, line)) {
    if (tag_follows) tags.insert(first_word(plain(line)));
    tag_follows = line == ".TP" || line == ".SS";
  }
  return tags;
}

// What --help lists: the command of each entry under "Commands:", the key of each line of the configuration
// reference, and its section headers ("[sources.NAME]").
struct HelpNames {
  std::set<std::string> commands;
  std::set<std::string> keys;
};

HelpNames help_names(const std::string& help) {
  HelpNames names;
  std::istringstream lines(help);
  std::string line;
  enum { before, commands, after_commands, configuration } part = before;
  while (std::getline(lines, line)) {
    if (line == "Commands:") {
      part = commands;
    } else if (line == "Options:") {
      part = after_commands;
    } else if (line.starts_with("Configuration (")) {
      part = configuration;
    } else if (part == commands && line.starts_with("  ") && line[2] >= 'a' && line[2] <= 'z') {
      names.commands.insert(first_word(line));
    } else if (part == configuration && (line.starts_with("[") || (line.starts_with("  ") && line[2] != ' '))) {
      names.keys.insert(first_word(line));
    }
  }
  return names;
}

}  // namespace

TEST_CASE("the man pages the build writes render with groff without a warning") {
  for (const std::string& page : {kPage8, kPage5}) {
    const auto rendered = run_command({"/bin/sh", "-c", "groff -ww -man -Tutf8 '" + page + "' > /dev/null"});
    INFO(page << ":\n" << rendered.output);
    CHECK(rendered.exit_code == 0);
    CHECK(rendered.output.empty());
  }
}

TEST_CASE("projectord(8) describes every command --help lists and projectord.toml(5) every config key") {
  const auto help = run_command({kBinary, "--help"});
  REQUIRE(help.exit_code == 0);
  const HelpNames names = help_names(help.output);
  CHECK(names.commands.size() >= 13);
  CHECK(names.keys.contains("[handlers.NAME]"));
  CHECK(names.keys.contains("hole_grace"));

  const std::set<std::string> commands = tags_of(file_text(kPage8));
  for (const std::string& command : names.commands) {
    INFO(command);
    CHECK(commands.contains(command));
  }
  const std::set<std::string> keys = tags_of(file_text(kPage5));
  for (const std::string& key : names.keys) {
    INFO(key);
    CHECK(keys.contains(key));
  }
}
