// orders-projectord: projectord with the `orders` handler kind beside the built-in ones.
#include "daemon/cli/daemon_main.hpp"
#include "orders_handler.hpp"

int main(int argc, char** argv) { return projectord::cli::daemon_main(argc, argv, {orders::orders_kind()}); }
