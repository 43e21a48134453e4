#pragma once
/// The projectord binary as a function: the stock binary's main calls it with no kinds of its own, and a
/// team's own daemon (built against the installed package, see examples/custom_handler/) calls it with the
/// handler kinds it adds. Those kinds get every built-in feature: their keys in the option table, `--help`,
/// `check-config` and reload with file:line:key errors, migrate, rebuilds, dead letters.
#include <vector>

#include "handlers/registry.hpp"

namespace projectord::cli {

/// Registers `kinds` beside the built-in ones, then parses the command line, loads the config and runs the
/// subcommand; returns the process exit code.
int daemon_main(int argc, char** argv, std::vector<handlers::Kind> kinds = {});

}  // namespace projectord::cli
