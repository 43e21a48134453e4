#pragma once
/// The validated configuration of one projectord process.
///
/// Produced only by `load_config` (config/loader.hpp) from a TOML file; every value here has been
/// type-checked, defaulted and cross-checked (a handler's source exists, a sql handler has statements, ...).
/// The set of keys, their types, defaults and help text live in one table (config/option_table.hpp).
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/postgres/pooling.hpp"
#include "config/cipher_key.hpp"

namespace projectord::config {

using Duration = std::chrono::milliseconds;

using StringMap = std::map<std::string, std::string>;
/// A checked value of one option row, by its OptionType (config/options.hpp); a table_list is checked in
/// place, its tables reach a kind's `load` (config/handler_kind.hpp), and its value here is monostate.
using OptionValue = std::variant<std::string, std::int64_t, bool, Duration, std::vector<std::string>, std::monostate,
                                 StringMap, boost::json::object>;

/// How writers of a PostgreSQL store order their commits relative to their positions.
enum class CommitOrder {
  concurrent,  ///< positions may commit out of order: holes wait for the snapshot horizon + grace
  serialized,  ///< writers serialise inserts (LOCK TABLE): a visible N+1 proves every position <= N settled
};

/// What the payload column holds and how to turn it into the event's JSON `data`.
enum class Codec {
  json,                     ///< text/json/jsonb/bytea holding a JSON object
  json_zlib,                ///< zlib-compressed JSON (bytea)
  eventsourcing_json,       ///< pyeventsourcing JSONTranscoder bytes: {"_type_","_data_"} markers decoded
  eventsourcing_json_zlib,  ///< the same, zlib-compressed first (COMPRESSOR_TOPIC=zlib)
  /// pyeventsourcing's AESCipher (CIPHER_TOPIC): AES-GCM, nonce(12) | tag(16) | ciphertext, over the transcoder's bytes
  eventsourcing_json_aes,
  eventsourcing_json_zlib_aes,  ///< the same over the zlib-compressed bytes (compressed, then encrypted)
};

/// The name a config file gives `codec`: its place among the `codec` option's choices, as the loader reads it
/// (config/options.cpp).
std::string_view codec_name(Codec codec);

/// Whether `codec` decrypts, and so needs the source's cipher key.
constexpr bool is_encrypted(Codec codec) {
  return codec == Codec::eventsourcing_json_aes || codec == Codec::eventsourcing_json_zlib_aes;
}

enum class OnError {
  stop,         ///< after max_attempts the handler halts; every other handler goes on
  dead_letter,  ///< after max_attempts the event and error go to projectord.dead_letters; the handler goes on
};

/// One declarative upcast of a source: it turns events of `type` (matched as in base/event_type.hpp) at
/// schema version `from_version` into version from_version + 1 (sources/upcasts.hpp). Paths are dotted keys
/// inside the event's data ("address.zip"); the operations run in the order of the fields below.
struct Upcast {
  std::string type;
  std::int64_t from_version = 1;
  StringMap rename;                 ///< path -> new key name at the same level
  StringMap move;                   ///< path -> path
  /// path of a string -> the two paths its parts go to, split at the first space; the string is removed
  std::map<std::string, std::pair<std::string, std::string>> split;
  std::vector<std::string> drop;    ///< paths removed
  boost::json::object defaults;     ///< path -> value set where the path is missing
  std::size_t line = 0;             ///< of its [[sources.NAME.upcasts]] header, for errors

  bool operator==(const Upcast&) const = default;
};

/// A PostgreSQL table tailed as an event source. Presets fill the column names; `generic` names them all.
struct PostgresSource {
  std::string name;
  std::string url;     ///< libpq connection string or URI of the event store (defaults to database.url)
  std::string preset;  ///< eventsourcing | eventsourcing_django | django_event_store | djangoevents | generic | ...
  std::string table;   ///< possibly schema-qualified, e.g. "public.stored_events"; empty when `tables` is set
  /// django_event_tables: one table per event type, read as one source in one position order.
  std::vector<std::string> tables;
  /// django_event_tables: table -> event type; a table not named here gives its own name as the type.
  StringMap type_names;
  // Column mapping (filled from the preset, overridable one by one).
  std::string position_column;
  std::string stream_id_column;
  std::string version_column;  ///< empty: no version column
  std::string type_column;
  std::string payload_column;
  std::string metadata_column;     ///< empty: metadata is {}
  /// Names the payload's encoding per row (Eventuali's event_data_type); rows not `json` are undecodable.
  std::string payload_format_column;
  std::string recorded_at_column;  ///< empty: recorded_at comes from recorded_at_path or stays empty
  std::string recorded_at_path;    ///< e.g. "data.timestamp" for pyeventsourcing stores without a time column
  std::string event_version_column;  ///< the schema version (djangoevents' event_version); empty: none
  std::string event_version_path;    ///< or where data/metadata hold it, e.g. "data.class_version"; empty: none
  /// Equality filter bound as a parameter, e.g. application_name = 'Shop' for eventsourcing_django.
  std::string filter_column;
  std::string filter_value;
  Codec codec = Codec::json;
  CipherKey cipher_key;  ///< the aes codecs' key, from cipher_key_env or cipher_key_file
  CommitOrder commit_order = CommitOrder::concurrent;
  std::string notify_channel;  ///< channel the migrate trigger NOTIFYs and the daemon LISTENs on
  Duration poll_interval{1000};
  Duration hole_grace{500};
  Duration max_hole_wait{300000};
  Duration hole_recheck{600000};  ///< how long holes passed while live are re-read for late rows; 0 = never
  bool share_reads = true;  ///< lanes near the same position share read cycles (sources/postgres/shared_reads.hpp)
  std::size_t batch_size = 5000;  ///< upper bound of one catch-up batch; live batches are as small as one event
  /// Largest payload fetched and decoded (also once inflated); a read's payload bytes stop it at 4x this.
  std::size_t max_event_bytes = std::size_t{16} << 20;
  std::vector<Upcast> upcasts;  ///< by type, then from_version; each chain has no gap

  bool operator==(const PostgresSource&) const = default;
};

/// The tables a source reads: its `tables`, else its one `table`.
inline std::vector<std::string> event_tables(const PostgresSource& source) {
  return source.tables.empty() ? std::vector<std::string>{source.table} : source.tables;
}

/// A Redis stream tailed as an event source through a consumer group.
struct RedisSource {
  std::string name;
  std::string url;     ///< redis://[user:pass@]host:port/db or unix:///path/redis.sock[?db=N]
  std::string stream;  ///< the stream key
  std::string group = "projectord";  ///< consumer group prefix: each handler reads in group GROUP:HANDLER
  std::string consumer;              ///< this process's consumer name; default HOSTNAME-PID
  std::string start = "0";           ///< where a new group starts: "0" (the whole stream) or "$" (new entries only)
  // Entry fields mapped to the Event.
  std::string type_field = "type";
  std::string stream_id_field = "stream_id";
  std::string version_field = "version";
  std::string data_field = "data";          ///< the event data, in `codec`
  Codec codec = Codec::json;
  CipherKey cipher_key;  ///< the aes codecs' key, from cipher_key_env or cipher_key_file
  std::string metadata_field = "metadata";  ///< JSON object text; a missing field is {}
  std::string recorded_at_field = "recorded_at";  ///< a missing field leaves recorded_at empty
  std::string event_version_field = "event_version";  ///< the schema version; a missing field is 1
  Duration block{1000};        ///< longest XREADGROUP BLOCK; also how soon a pause or stop is noticed
  Duration claim_idle{60000};  ///< pending entries of other consumers idle this long are claimed (XAUTOCLAIM)
  std::size_t batch_size = 5000;
  std::size_t max_event_bytes = std::size_t{16} << 20;  ///< largest data field decoded (also once inflated)
  std::vector<Upcast> upcasts;  ///< by type, then from_version; each chain has no gap

  bool operator==(const RedisSource&) const = default;
};

/// One parameterised statement of a `sql` handler, run for events whose type matches `on` and whose schema
/// version (after upcasts) lies in [min_version, max_version].
struct SqlStatement {
  std::string on;                   ///< event type: the stored type exactly, or its class name (after the last . or :)
  std::int64_t min_version = 1;  ///< schema versions it applies to (after upcasts): `version` or `versions`
  std::int64_t max_version = std::numeric_limits<std::int64_t>::max();
  std::string sql;                  ///< $1..$n placeholders only; event data is never spliced into the text
  std::vector<std::string> params;  ///< event paths bound to $1..$n: stream_id, data.email, metadata.user_id, ...
  std::size_t line = 0;             ///< where it was declared, for error messages

  bool operator==(const SqlStatement&) const = default;
};

/// Where a side-effect handler delivers (handlers/side_effects/): the keys of its kind, the rest empty.
struct SideEffectSettings {
  std::string url;     ///< webhook: the endpoint; celery: the broker; redis_publish: the Redis server
  std::string secret;  ///< webhook: HMAC-SHA256 key of the signature header
  Duration connect_timeout{5000};
  Duration request_timeout{10000};
  std::size_t max_in_flight = 16;  ///< webhook: concurrent requests
  std::string ca_file;             ///< webhook: extra CA bundle for https
  bool allow_plain_http = false;   ///< webhook: a secret may go over http:// (a trusted network)
  std::string task;                ///< celery: registered task name
  std::string queue;               ///< celery: queue (a Redis list)
  std::vector<std::string> args;   ///< celery: event paths of the positional arguments
  std::map<std::string, std::string> kwargs;  ///< celery: keyword -> event path
  std::string stream;                         ///< redis_publish: outgoing stream key
  std::int64_t maxlen = 0;                    ///< redis_publish: MAXLEN ~ N; 0: unbounded
  std::map<std::string, std::string> fields;  ///< redis_publish: entry field -> event path; empty: the whole event

  bool operator==(const SideEffectSettings&) const = default;
};

/// One of the lanes a partitioned handler runs as (daemon/partition_lanes.hpp): the events of the streams whose
/// id hashes to `index` of `count` (sources/postgres/partition_match.hpp), under its own checkpoint and lease.
struct Partition {
  std::string handler;  ///< the [handlers.NAME] it belongs to
  std::int64_t index = 0;
  std::int64_t count = 1;

  bool operator==(const Partition&) const = default;
};

struct Handler {
  std::string name;
  std::string kind;                ///< a registered kind (config/handler_kind.hpp): sql, users, webhook, ...
  /// The kind delivers outside the read-model database, at least once (webhook, celery, ...).
  bool is_side_effect = false;
  std::string source;              ///< name of a [sources.NAME] table
  std::vector<std::string> types;  ///< event types this handler sees (same matching as SqlStatement::on); empty = all
  OnError on_error = OnError::stop;
  int max_attempts = 5;
  Duration retry_backoff{200};  ///< first retry delay; doubles per attempt up to retry_backoff_max
  Duration retry_backoff_max{10000};
  /// Side effects: with no checkpoint yet, begin at the source's head instead of replaying its history.
  bool start_at_head = false;
  /// Lanes it runs as, each one stream hash partition of the source: events of one stream stay in order.
  std::int64_t partitions = 1;
  /// Set on each lane of a partitioned handler (its name NAME/INDEX); none: the handler runs whole.
  std::optional<Partition> partition;
  bool rebuild_on_signal = false;   ///< SIGUSR1 rebuilds it (never a side effect: rebuilds do not re-deliver)
  std::int64_t rebuild_max_rate = 0;  ///< events/s a rebuild replays at most; 0: unlimited
  /// A pyeventsourcing tracking table kept at the checkpoint (checkpoints/tracking_table.hpp); empty: none.
  std::string tracking_table;
  std::string tracking_application;  ///< the upstream application named in its rows
  // kind-specific
  SideEffectSettings side_effect;        ///< webhook / celery / redis_publish
  std::string table;                     ///< event_log / users: target table (defaults per kind)
  std::string setup;                     ///< sql: DDL run (idempotently) by `projectord migrate`
  std::vector<SqlStatement> statements;  ///< sql: per-event statements
  /// The values of the kind's own keys (written or defaulted), by key: what a kind defined outside this
  /// repository reads its settings from.
  std::map<std::string, OptionValue, std::less<>> options;
  std::size_t line = 0;

  /// The value of the kind's own key `key`, of the type its row declares (std::string for a string row, ...);
  /// a key the kind does not declare is a programming error, thrown.
  template <class T>
  const T& option(std::string_view key) const {
    const auto found = options.find(key);
    if (found == options.end()) throw std::logic_error("handler " + name + " has no key " + std::string(key));
    return std::get<T>(found->second);
  }

  bool operator==(const Handler&) const = default;
};

struct Daemon {
  std::string log_level = "info";
  std::string log_format = "text";  ///< "text" or "json" (daemon/logging/logger.hpp)
  Duration shutdown_timeout{30000};
  Duration stuck_after{60000};  ///< no progress this long while work waits: the handler is stuck
  /// A handler's lease (checkpoints/leases.hpp) lasts this long unless renewed: another process takes a
  /// handler over within about this long of its owner's end.
  Duration lease_length{3000};
  Duration lease_renew_interval{1000};  ///< how often the owner renews, and the longest a standby waits to ask again
  std::vector<std::string> handlers;     ///< the handlers this process runs; empty: all
};

struct Http {
  std::string listen = "127.0.0.1:9464";  ///< empty: no HTTP endpoint
  std::string admin_token;                ///< empty: admin calls need no token (loopback by default)
  Duration ready_max_lag{300000};         ///< /readyz fails while a handler is behind for longer than this
};

/// The NOTIFY control channel (daemon/control_channel.hpp): off unless an operator names who may use it.
struct Control {
  bool notify = false;                     ///< LISTEN on projectord_control at all
  std::vector<std::string> allowed_roles;  ///< login roles whose commands are obeyed; not empty when notify is on
};

struct Config {
  std::string file;  ///< path it was loaded from
  Daemon daemon;
  std::string database_url;  ///< [database] url: read models, checkpoints and dead letters live here
  /// synchronous_commit of the projection transactions. "off" keeps exactly-once: read model and checkpoint
  /// commit together, so a server crash loses both and the events are applied again.
  std::string synchronous_commit = "off";
  /// [database] pooling: how the daemon's PostgreSQL connections (database.url and the postgres sources')
  /// reach the server; `transaction` behind pgbouncer's transaction pooling (base/postgres/pooling.hpp).
  postgres::Pooling pooling = postgres::Pooling::session;
  /// [database] listen_url: a direct connection to database.url's database that takes the LISTENs when
  /// pooling is `transaction`; empty: sources poll and the control channel is off (config/notify_route.hpp).
  std::string listen_url;
  /// [database] max_connections: the most PostgreSQL connections the daemon opens at once, whatever the number
  /// of handlers (config/notify_route.hpp: kept_connections, and the lanes' pool).
  std::size_t max_connections = 10;
  Http http;
  Control control;
  std::map<std::string, PostgresSource> postgres_sources;  ///< [sources.NAME] of kind postgres
  std::map<std::string, RedisSource> redis_sources;        ///< [sources.NAME] of kind redis
  std::map<std::string, Handler> handlers;
};

}  // namespace projectord::config
