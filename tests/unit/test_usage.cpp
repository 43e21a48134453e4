#include <catch2/catch.hpp>

#include "daemon/cli/bash_completion.hpp"
#include "daemon/cli/usage.hpp"

using namespace projectord::cli;

TEST_CASE("a command's help shows each of its forms and the union of their options, once each") {
  const std::string help = command_help_text("migrate");
  CHECK_THAT(help, Catch::StartsWith("Usage:\n  projectord [--config FILE] migrate [--uninstall]\n"
                                     "  projectord [--config FILE] migrate --print-grants ROLE\n"
                                     "  projectord [--config FILE] migrate --add-position SOURCE [--batch-rows N]\n"));
  for (const char* option : {"  --uninstall", "  --print-grants ROLE", "  --add-position SOURCE", "  --batch-rows N",
                             "  --help"}) {
    CHECK_THAT(help, Catch::Contains(option));
  }
  CHECK(command_help_text("retry").find("--http HOST:PORT") != std::string::npos);
  CHECK(command_help_text("frobnicate").empty());
}

TEST_CASE("the bash completion offers every command and every command's options from the usage table") {
  const std::string script = bash_completion_script();
  for (const CommandEntry& command : commands()) {
    INFO(command.synopsis);
    CHECK_THAT(script, Catch::Contains("    " + command.name() + ") words=\""));
    for (const UsageEntry& option : command.options) {
      CHECK_THAT(script, Catch::Contains(option.name()));
    }
  }
  CHECK_THAT(script, Catch::Contains("complete -F _projectord projectord"));
}
