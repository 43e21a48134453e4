#pragma once
/// The bash completion of projectord, rendered from the usage table (daemon/cli/usage.hpp) so that it offers
/// exactly the commands and options --help lists. The build writes it with the hidden
/// `projectord --bash-completion` and installs it as share/bash-completion/completions/projectord. It
/// completes the command, the command's options, the config file after --config, and handler names (after a
/// command taking HANDLER) or source names (after --add-position) read from the config file the command line
/// names, or the default one: read by sed, not by projectord, so that completing needs neither the secrets
/// nor the environment the config interpolates.
#include <string>

namespace projectord::cli {

std::string bash_completion_script();

}  // namespace projectord::cli
