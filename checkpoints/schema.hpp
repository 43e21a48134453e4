#pragma once
/// The `projectord` schema in the target database: checkpoints, dead letters, rebuilds in progress, leases and
/// side effects' delivery attempts.
/// `projectord migrate` installs it idempotently; `--uninstall` removes it (read-model tables are the user's and stay).
#include <pqxx/connection>
#include <string>
#include <vector>

namespace projectord::checkpoints {

constexpr int kSchemaVersion = 8;

std::vector<std::string> install_schema_sql();
std::vector<std::string> uninstall_schema_sql();

/// Empty when the installed schema is the one this binary expects; otherwise what to do about it.
std::string check_schema(pqxx::connection& connection);

}  // namespace projectord::checkpoints
