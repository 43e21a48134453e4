#include "daemon/status_report.hpp"

#include <pqxx/connection>

#include "base/postgres/conninfo.hpp"
#include "base/postgres/errors.hpp"
#include "checkpoints/status_queries.hpp"
#include "daemon/error_class.hpp"
#include "sources/postgres/reader.hpp"
#include "sources/redis/stream_reader.hpp"

namespace projectord {

namespace {

constexpr std::size_t kDeadLettersShown = 20;

// ` error_class=CLASS`, and with `show_errors` also ` error="TEXT"`.
std::string error_fields(const std::string& text, bool show_errors) {
  std::string fields = " error_class=" + std::string(error_class(text));
  if (show_errors) fields += " error=\"" + postgres::one_line(text) + "\"";
  return fields;
}

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
void print_dead_letters(pqxx::connection& target, const std::string& handler, std::ostream& out, bool show_errors) {
  bool more = false;
  for (const auto& letter : checkpoints::first_dead_letters(target, handler, kDeadLettersShown, more)) {
    out << "  dead_letter id=" << letter.id << " position=" << letter.position << " type=" << letter.type
        << " attempts=" << letter.attempts << " at=\"" << letter.created_at << "\""
        << error_fields(letter.error, show_errors) << "\n";
  }
  if (more) out << "  (more dead letters: SELECT * FROM projectord.dead_letters)\n";
}

}  // namespace

int print_status(const config::Config& config, std::ostream& out, bool show_errors) {
  int exit_code = 0;
  std::unique_ptr<pqxx::connection> target;
  try {
    target = std::make_unique<pqxx::connection>(postgres::with_keepalives(config.database_url));
  } catch (const std::exception& error) {
    out << "database=unreachable" << error_fields(postgres::error_text(error), show_errors) << "\n";
    return 1;
  }
  for (const auto& [name, handler] : config.handlers) {
    out << "handler=" << name << " kind=" << handler.kind << " source=" << handler.source;
    try {
      const std::optional<checkpoints::CheckpointSummary> checkpoint = checkpoints::checkpoint_summary(*target, name);
      const Position position = checkpoint ? checkpoint->position : 0;

      if (const auto redis = config.redis_sources.find(handler.source); redis != config.redis_sources.end()) {
        out << redis_position(redis->second, position);
      } else {
        const config::PostgresSource& source = config.postgres_sources.at(handler.source);
        const sources::PostgresReader reader(source);
        std::unique_ptr<pqxx::connection> separate;
        if (source.url != config.database_url) separate = std::make_unique<pqxx::connection>(postgres::with_keepalives(source.url));
        pqxx::connection& source_connection = separate ? *separate : *target;
        out << " position=" << position << " head=" << reader.head(source_connection)
            << " lag=" << reader.count_after(source_connection, position);
      }
      if (!checkpoint) {
        out << " state=never_started";
      } else {
        out << " applied=" << checkpoint->events_applied << " dead_letters=" << checkpoint->dead_letters
            << " updated_at=\"" << checkpoint->updated_at << "\"";
      }
      // A blue/green rebuild in progress (or left by a crash, resumed by the next `run`).
      if (const auto rebuild = checkpoints::rebuild_summary(*target, name)) {
        out << " rebuild_position=" << rebuild->position << " rebuild_requested_by=" << rebuild->requested_by
            << " rebuild_started_at=\"" << rebuild->started_at << "\"";
      }
      out << "\n";
      print_dead_letters(*target, name, out, show_errors);
    } catch (const std::exception& error) {
      out << error_fields(postgres::error_text(error), show_errors) << "\n";
      exit_code = 1;
    }
  }
  return exit_code;
}

}  // namespace projectord
