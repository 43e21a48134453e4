#pragma once
/// The subcommands of the projectord binary. Each returns the process exit code.
#include <cstddef>
#include <string>

#include "config/config.hpp"

namespace projectord::cli {

int command_run(const config::Config& config, bool exit_when_caught_up);
int command_migrate(const config::Config& config, bool uninstall);
/// `migrate --print-grants ROLE`: the least-privilege grants for `role` on stdout (daemon/cli/grants.hpp).
int command_print_grants(const config::Config& config, const std::string& role);
/// `migrate --add-position SOURCE`: an identity position for a table without one (daemon/cli/position_backfill.hpp).
int command_add_position(const config::Config& config, const std::string& source, std::size_t batch_rows);
int command_check_config(const config::Config& config);
/// `detect URL`: a config for the event stores in the database `url` names, on stdout (daemon/cli/detected_config.hpp);
/// 1 with a message on stderr when there is none or the database cannot be read. No config file is read.
int command_detect(const std::string& url);

}  // namespace projectord::cli
