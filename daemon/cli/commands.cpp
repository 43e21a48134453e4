#include "daemon/cli/commands.hpp"

#include <iostream>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "base/postgres/conninfo.hpp"
#include "checkpoints/schema.hpp"
#include "daemon/cli/grants.hpp"
#include "daemon/cli/position_backfill.hpp"
#include "daemon/service.hpp"
#include "sources/postgres/reader.hpp"
#include "daemon/status_report.hpp"
#include "handlers/registry.hpp"

namespace projectord::cli {

namespace {

void exec_all(pqxx::connection& connection, const std::vector<std::string>& statements) {
  pqxx::work txn(connection);
  for (const std::string& sql : statements) txn.exec(sql);
  txn.commit();
}

// Every handler's projection, built as `run` would build it: kind-specific settings (event paths of sql
// statements, ...) are only fully checked here.
Result<std::vector<std::unique_ptr<handlers::ProjectionHandler>>> build_projections(const config::Config& config) {
  std::vector<std::unique_ptr<handlers::ProjectionHandler>> built;
  for (const auto& [name, handler] : config.handlers) {
    auto projection = handlers::make_projection(handler);
    if (!projection) return fail(projection.error());
    built.push_back(std::move(*projection));
  }
  return built;
}

}  // namespace

int command_run(const config::Config& config, bool exit_when_caught_up) {
  return run_service(config, RunOptions{exit_when_caught_up});
}

int command_migrate(const config::Config& config, bool uninstall) {
  auto projections = build_projections(config);
  if (!projections) {
    std::cerr << config.file << ": " << projections.error() << "\n";
    return 1;
  }
  try {
    for (const auto& [name, source] : config.postgres_sources) {
      pqxx::connection connection(postgres::with_keepalives(source.url));
      const sources::PostgresReader reader(source);
      exec_all(connection, uninstall ? reader.uninstall_trigger_sql() : reader.install_trigger_sql());
      for (const std::string& table : config::event_tables(source)) {
        std::cout << (uninstall ? "removed" : "installed") << " NOTIFY trigger on " << table << " (channel "
                  << source.notify_channel << ")\n";
      }
    }
    pqxx::connection target(postgres::with_keepalives(config.database_url));
    if (uninstall) {
      exec_all(target, checkpoints::uninstall_schema_sql());
      std::cout << "removed schema projectord (read-model tables are left in place)\n";
      return 0;
    }
    exec_all(target, checkpoints::install_schema_sql());
    std::cout << "installed schema projectord (version " << checkpoints::kSchemaVersion << ")\n";
    auto name = config.handlers.begin();
    for (const auto& projection : *projections) {
      std::vector<std::string> statements;
      for (handlers::SetupStatement& statement : projection->setup_sql()) statements.push_back(std::move(statement.sql));
      exec_all(target, statements);
      std::cout << "set up read model of handler " << (name++)->first << "\n";
    }
  } catch (const std::exception& error) {
    std::cerr << "migrate failed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

int command_print_grants(const config::Config& config, const std::string& role) {
  try {
    pqxx::connection target(postgres::with_keepalives(config.database_url));
    const Result<std::string> grants = least_privilege_grants(config, role, target);
    if (!grants) {
      std::cerr << "migrate --print-grants: " << grants.error() << "\n";
      return 1;
    }
    std::cout << *grants;
  } catch (const std::exception& error) {
    std::cerr << "migrate --print-grants failed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

int command_add_position(const config::Config& config, const std::string& source, std::size_t batch_rows) {
  const auto found = config.postgres_sources.find(source);
  if (found == config.postgres_sources.end()) {
    std::cerr << "migrate --add-position: " << config.file << " has no PostgreSQL source named " << source << "\n";
    return 1;
  }
  return add_position(found->second, batch_rows, std::cout, std::cerr);
}

int command_check_config(const config::Config& config) {
  auto projections = build_projections(config);
  if (!projections) {
    std::cerr << config.file << ": " << projections.error() << "\n";
    return 1;
  }
  std::cout << config.file << ": ok (" << config.postgres_sources.size() + config.redis_sources.size() << " source(s), " << config.handlers.size()
            << " handler(s))\n";
  return 0;
}

int command_status(const config::Config& config, bool show_errors) {
  return print_status(config, std::cout, show_errors);
}

}  // namespace projectord::cli
