// projectord: the projection worker daemon with the built-in handler kinds.
#include "daemon/cli/daemon_main.hpp"

int main(int argc, char** argv) { return projectord::cli::daemon_main(argc, argv); }
