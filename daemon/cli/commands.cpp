#include "daemon/cli/commands.hpp"

#include <cstdlib>
#include <iostream>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "base/postgres/conninfo.hpp"
#include "checkpoints/schema.hpp"
#include "config/connection_url.hpp"
#include "daemon/cli/detected_config.hpp"
#include "daemon/cli/grants.hpp"
#include "daemon/cli/position_backfill.hpp"
#include "daemon/cli/store_detection.hpp"
#include "daemon/service.hpp"
#include "sources/postgres/reader.hpp"
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

int command_detect(const std::string& url) {
  // Nothing here quotes the URL: libpq's parse errors would, and it may hold a password.
  if (const std::string problem = config::postgres_url_problem(url); !problem.empty()) {
    std::cerr << "detect: the URL is not a libpq connection string: " << problem << "\n";
    return 1;
  }
  // The application's key, when the environment has it, tells encrypted JSON from encrypted zlib'd JSON.
  config::CipherKey key;
  if (const char* text = std::getenv("CIPHER_KEY"); text != nullptr && *text != '\0') {
    auto parsed = config::CipherKey::from_base64(text);
    if (!parsed) {
      std::cerr << "detect: CIPHER_KEY: " << parsed.error() << "\n";
      return 1;
    }
    key = std::move(*parsed);
  }
  const Result<Detection> detection = [&]() -> Result<Detection> {
    try {
      pqxx::connection connection(postgres::with_keepalives(url));
      return detect_stores(connection, key);
    } catch (const std::exception& error) {
      return fail(error.what());
    }
  }();
  if (!detection) {
    std::cerr << "detect: cannot read the database: " << detection.error() << "\n";
    return 1;
  }
  if (detection->stores.empty()) {
    std::cerr << "detect: no event store projectord has a preset for in this database: no table has the columns"
                 " of pyeventsourcing's {app}_events, eventsourcing_django's stored_events, a Django"
                 " EventStoreRecord model, djangoevents' event_journal or Eventuali's events\n";
    for (const std::string& skipped : detection->skipped) std::cerr << "detect: left out " << skipped << "\n";
    return 1;
  }
  std::cout << detected_config(*detection);
  return 0;
}

}  // namespace projectord::cli
