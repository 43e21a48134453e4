#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "daemon/cli/man_page.hpp"
#include "handlers/registry.hpp"

using projectord::cli::man_page_5;
using projectord::cli::roff_text;
using namespace projectord::config;

TEST_CASE("roff_text makes leading dots and quotes, backslashes and hyphens literal text") {
  CHECK(roff_text(".SH x\n'br y") == "\\&.SH x\n\\&'br y");
  CHECK(roff_text("a.b 'c'") == "a.b 'c'");
  CHECK(roff_text("C:\\fB --flag") == "C:\\efB \\-\\-flag");
  CHECK(roff_text("off|local|on") == "off|\\:local|\\:on");
}

TEST_CASE("a help text that reads like roff reaches projectord.toml(5) as text, never as a request") {
  HandlerKind odd{.name = "odd"};
  odd.options.push_back({.section = "handlers.*", .key = "dotted", .type = OptionType::string, .reloadable = true,
                         .help = ".SH NOT A SECTION\n'br \\fB -x"});
  std::vector<HandlerKind> kinds = projectord::handlers::option_table().kinds();
  kinds.push_back(odd);
  const std::string page = man_page_5(OptionTable(std::move(kinds)));

  CHECK_THAT(page, Catch::Contains("\\&.SH NOT A SECTION\n\\&'br \\efB \\-x"));
  const std::set<std::string> requests{".TH", ".SH", ".SS", ".TP", ".PP", ".nh", ".ad"};
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with(".") && !line.starts_with("'")) continue;
    INFO(line);
    CHECK(requests.contains(line.substr(0, line.find(' '))));
  }
}
