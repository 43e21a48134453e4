#include "daemon/status_report.hpp"

#include <pqxx/connection>

#include "base/postgres/conninfo.hpp"
#include "base/postgres/errors.hpp"
#include "daemon/partition_lanes.hpp"
#include "sources/postgres/reader.hpp"
#include "sources/redis/stream_reader.hpp"

namespace projectord {

namespace {

// A Redis-fed handler's checkpoint is an entry id, and so is the stream's head.
void read_redis_head(const config::RedisSource& source, HandlerReading& reading) {
  sources::RedisStreamReader reader(source, std::string(), std::string());
  auto info = reader.connect(std::chrono::seconds(10));
  if (!info) throw std::runtime_error(info.error());
  const auto stream = reader.info();
  if (!stream) throw std::runtime_error(stream.error());
  reading.head = stream->last ? stream->last->text() : std::string("0-0");
}

void read_handler(const config::Config& config, const config::Handler& lane, pqxx::connection& target,
                  HandlerReading& reading) {
  reading.checkpoint = checkpoints::checkpoint_summary(target, reading.name);
  const Position position = reading.checkpoint ? reading.checkpoint->position : 0;
  if (const auto redis = config.redis_sources.find(reading.source); redis != config.redis_sources.end()) {
    reading.position = sources::StreamEntryId::from_position(position).text();
    read_redis_head(redis->second, reading);
  } else {
    const config::PostgresSource& source = config.postgres_sources.at(reading.source);
    const sources::PostgresReader reader(source, lane.partition);
    std::unique_ptr<pqxx::connection> separate;
    if (source.url != config.database_url) {
      separate = std::make_unique<pqxx::connection>(postgres::with_keepalives(source.url));
    }
    pqxx::connection& source_connection = separate ? *separate : target;
    reading.position = std::to_string(position);
    reading.head = std::to_string(reader.head(source_connection));
    reading.lag = reader.count_after(source_connection, position);
  }
  reading.lease = checkpoints::lease_holder(target, reading.name);
  // Standbys ask at least every renew interval, shorter than a lease: one not seen for two leases is gone.
  reading.standbys = checkpoints::lease_standbys(target, reading.name, 2 * config.daemon.lease_length);
  // A blue/green rebuild in progress (or left by a crash, resumed by the next `run`).
  reading.rebuild = checkpoints::rebuild_summary(target, reading.name);
  reading.dead_letters =
      checkpoints::first_dead_letters(target, reading.name, kDeadLettersRead, reading.more_dead_letters);
}

}  // namespace

StatusReading read_status(const config::Config& config) {
  StatusReading status;
  std::unique_ptr<pqxx::connection> target;
  try {
    target = std::make_unique<pqxx::connection>(postgres::with_keepalives(config.database_url));
  } catch (const std::exception& error) {
    status.unreachable = postgres::error_text(error);
    return status;
  }
  // A partitioned handler's partitions each have a checkpoint and a lease of their own.
  for (const auto& [name, lane] : partition_lanes(config).handlers) {
    HandlerReading& reading = status.handlers.emplace_back();
    reading.name = name;
    reading.kind = lane.kind;
    reading.source = lane.source;
    try {
      read_handler(config, lane, *target, reading);
    } catch (const std::exception& error) {
      reading.error = postgres::error_text(error);
    }
  }
  return status;
}

}  // namespace projectord
