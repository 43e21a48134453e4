#include "daemon/status_report.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

#include "checkpoints/rebuilds.hpp"
#include "sources/postgres/reader.hpp"
#include "sources/redis/stream_reader.hpp"

namespace projectord {

namespace {

constexpr std::size_t kDeadLettersShown = 20;

// A Redis-fed handler's checkpoint is an entry id, and so is the stream's head. The lag in entries would take
// a scan of the stream: /status and /metrics have it from the running daemon.
std::string redis_position(const config::RedisSource& source, Position position) {
  std::string out = " position=" + sources::StreamEntryId::from_position(position).text();
  sources::RedisStreamReader reader(source, std::string(), std::string());
  auto info = reader.connect(std::chrono::seconds(10));
  if (!info) throw std::runtime_error(info.error());
  const auto stream = reader.info();
  if (!stream) throw std::runtime_error(stream.error());
  out += " head=" + (stream->last ? stream->last->text() : std::string("0-0"));
  return out;
}

// One line per dead letter, under its handler's: what `projectord retry|drop HANDLER --id N` takes.
void print_dead_letters(pqxx::connection& target, const std::string& handler, std::ostream& out) {
  pqxx::read_transaction txn(target);
  const pqxx::result letters = txn.exec_params(
      "SELECT id, position, coalesce(event_type, ''), attempts, created_at::text, error FROM projectord.dead_letters"
      " WHERE handler = $1 ORDER BY position LIMIT $2",
      handler, kDeadLettersShown + 1);
  for (std::size_t i = 0; i < letters.size() && i < kDeadLettersShown; ++i) {
    const auto& row = letters[static_cast<int>(i)];
    out << "  dead_letter id=" << row[0].c_str() << " position=" << row[1].c_str() << " type=" << row[2].c_str()
        << " attempts=" << row[3].c_str() << " at=\"" << row[4].c_str() << "\" error=\"" << row[5].c_str() << "\"\n";
  }
  if (letters.size() > kDeadLettersShown) out << "  (more dead letters: SELECT * FROM projectord.dead_letters)\n";
}

}  // namespace

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

      if (const auto redis = config.redis_sources.find(handler.source); redis != config.redis_sources.end()) {
        out << redis_position(redis->second, position);
      } else {
        const config::PostgresSource& source = config.postgres_sources.at(handler.source);
        const sources::PostgresReader reader(source);
        std::unique_ptr<pqxx::connection> separate;
        if (source.url != config.database_url) separate = std::make_unique<pqxx::connection>(source.url);
        pqxx::connection& source_connection = separate ? *separate : *target;
        out << " position=" << position << " head=" << reader.head(source_connection)
            << " lag=" << reader.count_after(source_connection, position);
      }
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
      rebuilds.commit();
      if (!rebuild.empty()) {
        out << " rebuild_position=" << rebuild[0][0].as<Position>() << " rebuild_requested_by="
            << rebuild[0][1].c_str() << " rebuild_started_at=\"" << rebuild[0][2].c_str() << "\"";
      }
      out << "\n";
      print_dead_letters(*target, name, out);
    } catch (const std::exception& error) {
      out << " error=\"" << error.what() << "\"\n";
      exit_code = 1;
    }
  }
  return exit_code;
}

}  // namespace projectord
