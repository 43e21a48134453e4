#include "daemon/status_report.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

#include "daemon/rebuild.hpp"
#include "daemon/sources/postgres_reader.hpp"

namespace projectord {

int print_status(const config::Config& config, std::ostream& out) {
  int exit_code = 0;
  std::unique_ptr<pqxx::connection> target;
  try {
    target = std::make_unique<pqxx::connection>(config.database_url);
  } catch (const std::exception& error) {
    out << "database=unreachable error=\"" << error.what() << "\"\n";
    return 1;
  }
  for (const auto& [name, handler] : config.handlers) {
    out << "handler=" << name << " kind=" << handler.kind << " source=" << handler.source;
    try {
      pqxx::read_transaction txn(*target);
      const pqxx::result checkpoint = txn.exec_params(
          "SELECT position, events_applied, updated_at::text,"
          " (SELECT count(*) FROM projectord.dead_letters d WHERE d.handler = c.handler)"
          " FROM projectord.checkpoints c WHERE handler = $1",
          name);
      txn.commit();
      const Position position = checkpoint.empty() ? 0 : checkpoint[0][0].as<Position>();

      const config::PostgresSource& source = config.postgres_sources.at(handler.source);
      const sources::PostgresReader reader(source);
      std::unique_ptr<pqxx::connection> separate;
      if (source.url != config.database_url) separate = std::make_unique<pqxx::connection>(source.url);
      pqxx::connection& source_connection = separate ? *separate : *target;
      out << " position=" << position << " head=" << reader.head(source_connection)
          << " lag=" << reader.count_after(source_connection, position);
      if (checkpoint.empty()) {
        out << " state=never_started";
      } else {
        out << " applied=" << checkpoint[0][1].as<std::int64_t>()
            << " dead_letters=" << checkpoint[0][3].as<std::int64_t>() << " updated_at=\"" << checkpoint[0][2].c_str()
            << "\"";
      }
      // A blue/green rebuild in progress (or left by a crash, resumed by the next `run`).
      pqxx::read_transaction rebuilds(*target);
      const pqxx::result rebuild = rebuilds.exec_params(
          "SELECT coalesce(c.position, 0), r.requested_by, r.started_at::text FROM projectord.rebuilds r"
          " LEFT JOIN projectord.checkpoints c ON c.handler = $2 WHERE r.handler = $1",
          name, rebuild::shadow_checkpoint(name));
      if (!rebuild.empty()) {
        out << " rebuild_position=" << rebuild[0][0].as<Position>() << " rebuild_requested_by="
            << rebuild[0][1].c_str() << " rebuild_started_at=\"" << rebuild[0][2].c_str() << "\"";
      }
    } catch (const std::exception& error) {
      out << " error=\"" << error.what() << "\"";
      exit_code = 1;
    }
    out << "\n";
  }
  return exit_code;
}

}  // namespace projectord
