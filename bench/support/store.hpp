#pragma once
/// The throwaway event store the benchmarks run against, and the projectord instance that reads it.
///
/// The store is eventsourcing_django's `stored_events` table (created by examples/demo_writer.cpp) holding
/// events of `UserEventGenerator`, all of application kApplication, with PLAIN JSON state bytes (no zlib) so
/// that SQL can read them too (`convert_from(state, 'UTF8')::jsonb`).
#include <chrono>
#include <cstdint>
#include <functional>
#include <pqxx/connection>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/support/process.hpp"
#include "bench/support/report.hpp"
#include "examples/user_events.hpp"

namespace projectord::bench {

inline constexpr std::string_view kApplication = "Shop";
inline constexpr std::uint64_t kSeed = 42;
/// The config's source of the store: events carry its name (and side effects' idempotency keys start with it).
inline constexpr std::string_view kSourceName = "shop";

/// `url` (conninfo or URI) with its database replaced by `database`, as a keyword=value conninfo.
std::string with_database(const std::string& url, const std::string& database);

/// Drops database `name` if it exists (ending its sessions), creates it empty, and returns its conninfo.
std::string fresh_database(const std::string& server_url, const std::string& name);

/// Drops database `name` if it exists, ending its sessions.
void drop_database(const std::string& server_url, const std::string& name);

/// bytea's hex input form (`\x7b22...`), which COPY's text format passes through once its backslash is escaped.
std::string bytea_hex(std::string_view bytes);

/// Creates stored_events in the database `url` names, as eventsourcing_django's migration 0001 does: by
/// running `projectord-demo-writer --events 0`, whose DDL is the reference. Its output goes to `log_path`.
void create_stored_events(const std::string& url, const std::string& log_path);

/// What an application does to the transcoder's bytes before it stores them (compression, encryption); empty:
/// nothing, plain JSON state.
using StateEncoding = std::function<std::string(const std::string&)>;

/// Appends the generator's next `count` events with one COPY, in one transaction, their state encoded by
/// `encode`.
void append_events(pqxx::connection& connection, examples::UserEventGenerator& generator, std::int64_t count,
                   const StateEncoding& encode = {});

/// append_events, then VACUUM ANALYZE on the table.
void load_events(pqxx::connection& connection, examples::UserEventGenerator& generator, std::int64_t count,
                 const StateEncoding& encode = {});

/// `SHOW name` on the server.
std::string server_setting(pqxx::connection& connection, const std::string& name);

/// The one integer `sql` returns.
std::int64_t query_int(pqxx::connection& connection, const std::string& sql);

/// Runs CHECKPOINT: flushes what earlier phases left dirty, so that a timed phase does not pay for another
/// one's writes.
void checkpoint(pqxx::connection& connection);

/// VACUUM ANALYZE of `tables` (of the whole database when empty), then CHECKPOINT: a timed phase starts from
/// the same state each time, with no autovacuum work and no dirty pages an earlier phase left behind.
void settle(pqxx::connection& connection, const std::vector<std::string>& tables = {});

/// One [handlers.NAME] of the config: the name, and the TOML lines under its header (sub-tables such as
/// [[handlers.NAME.statements]] included).
struct HandlerConfig {
  std::string name;
  std::string toml;
};

/// The demo's read models: `users` (kind users, table user_projection) and `user_log` (kind event_log, table
/// user_event_log).
std::vector<HandlerConfig> demo_handlers();

struct ProjectordOptions {
  std::string extra_source_lines;  ///< more keys of [sources.shop], one per line
  /// Another source instead of the shop store: its whole [sources.NAME] table, header included.
  std::string source_toml;
  /// What "caught up" means: every handler's checkpoint at the position this query returns.
  std::string head_sql = "SELECT coalesce(max(id), 0) FROM stored_events";
  std::vector<HandlerConfig> handlers = demo_handlers();
  std::string http_listen;  ///< [http] listen; empty: no HTTP
  std::string log_level = "warn";          ///< [daemon] log_level
  std::size_t max_connections = 10;        ///< [database] max_connections
  /// More environment for the daemon besides the database url, e.g. an aes codec's CIPHER_KEY.
  std::vector<std::pair<std::string, std::string>> env;
};

/// The projectord binary with a config for the bench database: source `shop` (preset eventsourcing_django,
/// application kApplication, codec eventsourcing_json) or the options' own, and the handlers of the options. The database url
/// reaches projectord through the environment, never through the file. Files live in `work_dir`.
class Projectord {
 public:
  Projectord(std::string binary, std::string database_url, const std::string& work_dir,
             const ProjectordOptions& options = {});

  /// `projectord --config FILE <args>` as an argv.
  std::vector<std::string> command(const std::vector<std::string>& args) const;
  const std::vector<std::pair<std::string, std::string>>& env() const { return env_; }
  const std::string& log_path() const { return log_path_; }

  /// Runs `projectord migrate <args>`; throws with the log's tail when it fails.
  void migrate(const std::vector<std::string>& args = {}) const;

  /// A catch-up from the checkpoints as they are to the head: `projectord run --exit-when-caught-up`, whole
  /// process (wall clock from fork to exit, peak RSS). Throws with the log's tail when it does not exit 0.
  ExitInfo catch_up() const;

  /// True once every handler's checkpoint has reached the newest stored event.
  bool caught_up(pqxx::connection& connection) const;

  /// Polls `condition` until it holds (true) or `timeout` has passed (false); throws with the log's tail when
  /// `daemon`, running this config, exits first (`while_doing` says what it was doing then).
  bool wait_until(Child& daemon, const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                  std::string_view while_doing) const;

  /// wait_until(caught_up()).
  bool wait_until_caught_up(Child& daemon, pqxx::connection& connection, std::chrono::milliseconds timeout) const;

  /// Sends `daemon` SIGTERM; checks that it exits 0 within 60 s.
  static void stop(Child& daemon, Checks& checks);

 private:
  std::string binary_;
  std::string config_path_;
  std::string log_path_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::string caught_up_sql_;
};

}  // namespace projectord::bench
