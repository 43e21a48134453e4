#include "config/options.hpp"

#include <algorithm>

#include "config/config.hpp"
#include "config/text.hpp"

namespace projectord::config {
namespace {

using enum OptionType;

// Source and handler settings are reloadable: SIGHUP restarts only what changed. What the process itself is
// bound to (its own database) needs a restart.
const std::vector<Option> kOptions{
    // clang-format off
    // [daemon]
    {.section = "daemon", .key = "log_level", .type = string, .default_value = R"("info")", .reloadable = true,
     .help = "Lowest level logged.", .choices = "trace|debug|info|warn|error"},
    {.section = "daemon", .key = "log_format", .type = string, .default_value = R"("text")", .reloadable = true,
     .help = "How stderr's log lines look: text, or json (one object per line: ts, level, msg and the message's"
             " key=value fields). Under systemd the journal gets the fields either way.", .choices = "text|json"},
    {.section = "daemon", .key = "shutdown_timeout", .type = duration, .default_value = R"("30s")", .reloadable = true,
     .help = "How long SIGTERM waits for in-flight batches before exiting."},
    {.section = "daemon", .key = "stuck_after", .type = duration, .default_value = R"("60s")", .reloadable = true,
     .help = "A handler without progress this long while work waits is reported stuck (and not ready)."},
    {.section = "daemon", .key = "lease_length", .type = duration, .default_value = R"("3s")", .reloadable = false,
     .help = "How long a process's lease on a handler lasts unless renewed: when its owner dies or is cut off,"
             " another process with the same handlers takes them over after about this long."},
    {.section = "daemon", .key = "lease_renew_interval", .type = duration, .default_value = R"("1s")",
     .reloadable = false, .help = "How often the owner renews its leases, and the longest a standby waits"
                                  " before it asks for one again. Shorter than lease_length."},
    {.section = "daemon", .key = "handlers", .type = string_list, .default_value = "[]", .reloadable = true,
     .help = "Run only these handlers in this process (names of [handlers.*] tables); empty: all of them."
             " Processes sharing a database spread the handlers each runs evenly among them."},

    // [database]
    {.section = "database", .key = "url", .type = string, .reloadable = false,
     .help = "libpq conninfo or URI of the database holding read models, checkpoints, dead letters.", .required = true},
    {.section = "database", .key = "url_file", .type = string, .reloadable = false,
     .help = "Read url from this file (relative to the config file), minus its trailing newline."},
    {.section = "database", .key = "synchronous_commit", .type = string, .default_value = R"("off")", .reloadable = false,
     .help = "synchronous_commit of projection transactions. off is safe: a server crash loses read model and"
             " checkpoint together, and the events are applied again.", .choices = "off|local|on"},
    {.section = "database", .key = "pooling", .type = string, .default_value = R"("session")", .reloadable = false,
     .help = "How url (and the postgres sources' urls) reach the server: session (a direct connection or session"
             " pooling) or transaction (pgbouncer's pool_mode = transaction: no prepared statements, settings per"
             " transaction, no LISTEN there).", .choices = "session|transaction"},
    {.section = "database", .key = "max_connections", .type = integer, .default_value = "10", .reloadable = false,
     .help = "The most PostgreSQL connections the daemon opens at once, whatever the number of handlers: lanes"
             " borrow theirs from a pool while they have work. At least 4 with one listened source.",
     .min_value = 4, .max_value = 10'000},
    {.section = "database", .key = "listen_url", .type = string, .reloadable = false,
     .help = "pooling = transaction: a direct connection (not through the pooler) to url's database for LISTEN;"
             " without it the sources poll every poll_interval and [control] notify cannot be on."},

    // [http]
    {.section = "http", .key = "listen", .type = string, .default_value = R"("127.0.0.1:9464")", .reloadable = false,
     .help = "HOST:PORT of the health, metrics and admin endpoints ([::1]:9464 for IPv6); empty: no HTTP."},
    {.section = "http", .key = "admin_token", .type = string, .reloadable = true,
     .help = "When set, POST /admin/... needs 'Authorization: Bearer TOKEN'. Prefer admin_token_file or ${ENV}."},
    {.section = "http", .key = "admin_token_file", .type = string, .reloadable = true,
     .help = "Read admin_token from this file instead."},
    {.section = "http", .key = "ready_max_lag", .type = duration, .default_value = R"("5min")", .reloadable = true,
     .help = "/readyz fails while a handler has been behind its source's head for longer than this."},

    // [control]
    {.section = "control", .key = "notify", .type = boolean, .default_value = "false", .reloadable = true,
     .help = "Obey NOTIFY projectord_control, 'ACTION HANDLER' from allowed_roles (pause, resume, rebuild,"
             " retry; never skip or drop); false: no LISTEN at all."},
    {.section = "control", .key = "allowed_roles", .type = string_list, .default_value = "[]", .reloadable = true,
     .help = "Login roles (pg_stat_activity.usename of the sender) whose NOTIFYs are obeyed; required when"
             " notify = true."},

    // [sources.NAME]
    {.section = "sources.*", .key = "kind", .type = string, .default_value = R"("postgres")", .reloadable = true,
     .help = "Where events come from: a PostgreSQL table or a Redis stream.", .choices = "postgres|redis"},
    {.section = "sources.*", .key = "url", .type = string, .reloadable = true,
     .help = "postgres: libpq conninfo or URI of the event store, default database.url; redis: required,"
             " redis://[user:pass@]host:port/db or unix:///path/redis.sock."},
    {.section = "sources.*", .key = "url_file", .type = string, .reloadable = true,
     .help = "Read url from this file instead."},
    {.section = "sources.*", .key = "preset", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Table layout of a known store; the keys below override it. Required.",
     .choices = "eventsourcing|eventsourcing_django|django_event_store|djangoevents|eventuali|generic|django_event_tables"},
    {.section = "sources.*", .key = "table", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Event table, may be schema.table; required for django_event_store and generic."},
    {.section = "sources.*", .key = "tables", .type = string_list, .default_value = "[]", .kinds = "django_event_tables",
     .reloadable = true,
     .help = "The tables of one event type each (Django models of an abstract Event base), read as one source;"
             " required, may be schema.table."},
    {.section = "sources.*", .key = "type_names", .type = string_map, .default_value = "{}",
     .kinds = "django_event_tables", .reloadable = true,
     .help = "Event type of a table's rows, e.g. {library_bookborrowed = \"BookBorrowed\"}; default: the table's name."},
    {.section = "sources.*", .key = "position_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Global position (sequence values); required for generic."},
    {.section = "sources.*", .key = "stream_id_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Stream (aggregate) id; django_event_tables: rows of a table without this column have an empty one."},
    {.section = "sources.*", .key = "version_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Version within the stream."},
    {.section = "sources.*", .key = "type_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Event type; required for generic."},
    {.section = "sources.*", .key = "payload_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Event data, decoded by codec; required for generic."},
    {.section = "sources.*", .key = "metadata_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "JSON metadata; none: metadata is {}."},
    {.section = "sources.*", .key = "payload_format_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Names each row's payload encoding (Eventuali's event_data_type): a row whose value is not json"
             " is an undecodable event."},
    {.section = "sources.*", .key = "recorded_at_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Time the event was recorded."},
    {.section = "sources.*", .key = "recorded_at_path", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Payload key holding the time when no column does: data.KEY, e.g. data.timestamp."},
    {.section = "sources.*", .key = "event_version_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "The event's schema version (an integer; NULL: 1), which upcasts and statements' version go by;"
             " none: 1. Not the stream version."},
    {.section = "sources.*", .key = "event_version_path", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Where the schema version is when no column holds it: data.KEY or metadata.KEY (dotted below),"
             " e.g. data.class_version; missing: 1."},
    {.section = "sources.*", .key = "filter_column", .type = string,
     .kinds = "eventsourcing,django_event_store,djangoevents,generic", .reloadable = true,
     .help = "Read only rows where this column equals filter_value."},
    {.section = "sources.*", .key = "filter_value", .type = string,
     .kinds = "eventsourcing,django_event_store,djangoevents,generic",
     .reloadable = true, .help = "See filter_column."},
    {.section = "sources.*", .key = "application_name", .type = string, .kinds = "eventsourcing_django",
     .reloadable = true, .help = "Required: read only rows with this application_name."},
    {.section = "sources.*", .key = "codec", .type = string, .reloadable = true,
     .help = "Payload (postgres) or data field (redis) encoding; default per preset, json for redis.",
     .choices = "json|json_zlib|eventsourcing_json|eventsourcing_json_zlib|eventsourcing_json_aes|"
                "eventsourcing_json_zlib_aes"},
    {.section = "sources.*", .key = "cipher_key_env", .type = string, .reloadable = true,
     .help = "aes codecs: environment variable holding the base64 AES key (16, 24 or 32 bytes), as pyeventsourcing's"
             " CIPHER_KEY; default CIPHER_KEY. The key itself is never written in this file."},
    {.section = "sources.*", .key = "cipher_key_file", .type = string, .reloadable = true,
     .help = "aes codecs: read the base64 AES key from this file instead (relative to the config file), e.g. a"
             " systemd credential."},
    {.section = "sources.*", .key = "commit_order", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "serialized: writers lock the table, holes need no wait; default per preset.",
     .choices = "concurrent|serialized"},
    {.section = "sources.*", .key = "notify_channel", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Channel LISTENed on; default projectord_TABLE ('.' becomes '_'), TABLE the first of tables for"
             " django_event_tables."},
    {.section = "sources.*", .key = "poll_interval", .type = duration, .default_value = R"("1s")", .kinds = "postgres", .reloadable = true,
     .help = "Read the table this often even without a notification."},
    {.section = "sources.*", .key = "hole_grace", .type = duration, .default_value = R"("500ms")", .kinds = "postgres", .reloadable = true,
     .help = "The longest a writer takes from nextval to its first write: a hole is passed once every"
             " transaction begun by one grace after it was seen has ended."},
    {.section = "sources.*", .key = "max_hole_wait", .type = duration, .default_value = R"("5min")", .kinds = "postgres", .reloadable = true,
     .help = "Longest wait on a hole held open by a long transaction."},
    {.section = "sources.*", .key = "hole_recheck", .type = duration, .default_value = R"("10min")", .kinds = "postgres", .reloadable = true,
     .help = "How long holes passed while live are looked at again; a row that commits there later is applied then. 0: never."},
    {.section = "sources.*", .key = "share_reads", .type = boolean, .default_value = "true", .kinds = "postgres", .reloadable = true,
     .help = "Handlers at about the same position read and decode each batch once, together (partitioned handlers"
             " read their own)."},
    // [sources.NAME] of kind redis
    {.section = "sources.*", .key = "stream", .type = string, .kinds = "redis", .reloadable = true,
     .help = "The stream key. Required."},
    {.section = "sources.*", .key = "group", .type = string, .default_value = R"("projectord")", .kinds = "redis",
     .reloadable = true, .help = "Consumer group prefix: handler NAME reads in group GROUP:NAME."},
    {.section = "sources.*", .key = "consumer", .type = string, .kinds = "redis", .reloadable = true,
     .help = "This process's consumer name; default HOSTNAME-PID."},
    {.section = "sources.*", .key = "start", .type = string, .default_value = R"("0")", .kinds = "redis",
     .reloadable = true, .help = "Where a new group starts: the whole stream, or only entries added later.",
     .choices = "0|$"},
    {.section = "sources.*", .key = "type_field", .type = string, .default_value = R"("type")", .kinds = "redis",
     .reloadable = true, .help = "Entry field holding the event type."},
    {.section = "sources.*", .key = "stream_id_field", .type = string, .default_value = R"("stream_id")",
     .kinds = "redis", .reloadable = true, .help = "Entry field holding the stream (aggregate) id."},
    {.section = "sources.*", .key = "version_field", .type = string, .default_value = R"("version")",
     .kinds = "redis", .reloadable = true, .help = "Entry field holding the version; missing: 0."},
    {.section = "sources.*", .key = "data_field", .type = string, .default_value = R"("data")", .kinds = "redis",
     .reloadable = true, .help = "Entry field holding the event data, a JSON object."},
    {.section = "sources.*", .key = "metadata_field", .type = string, .default_value = R"("metadata")",
     .kinds = "redis", .reloadable = true, .help = "Entry field holding JSON metadata; missing: {}."},
    {.section = "sources.*", .key = "recorded_at_field", .type = string, .default_value = R"("recorded_at")",
     .kinds = "redis", .reloadable = true, .help = "Entry field holding the time it was recorded."},
    {.section = "sources.*", .key = "event_version_field", .type = string, .default_value = R"("event_version")",
     .kinds = "redis", .reloadable = true,
     .help = "Entry field holding the event's schema version (a decimal integer); missing: 1."},
    {.section = "sources.*", .key = "block", .type = duration, .default_value = R"("1s")", .kinds = "redis",
     .reloadable = true, .help = "Longest XREADGROUP BLOCK; a pause or stop waits at most this long."},
    {.section = "sources.*", .key = "claim_idle", .type = duration, .default_value = R"("1min")", .kinds = "redis",
     .reloadable = true, .help = "Other consumers of the group idle this long with nothing pending are deleted (a lane holding the"
             " handler's lease takes over their pending entries at once); without the lease, entries another"
             " consumer left unacknowledged this long are claimed."},
    {.section = "sources.*", .key = "batch_size", .type = integer, .default_value = "5000", .reloadable = true,
     .help = "Most events read at once; while catching up, one transaction spans up to 2 such reads (a folding"
             " handler's: up to its fold_memory).", .min_value = 1, .max_value = 100'000},
    {.section = "sources.*", .key = "max_event_bytes", .type = byte_size, .default_value = R"("16MiB")", .reloadable = true,
     .help = "Largest payload (postgres) or data field (redis) decoded, and largest it may inflate to (zlib codecs);"
             " a bigger event is a poison event for on_error, its payload never fetched. A read stops early past 4x"
             " this in payload bytes.", .min_value = 1 << 10, .max_value = 256 << 20},
    {.section = "sources.*", .key = "upcasts", .type = table_list, .reloadable = true,
     .help = "Upcasts applied to decoded events, before any handler sees them (rebuilds too)."},

    // [[sources.NAME.upcasts]]: one step of an event type's schema, from_version to from_version + 1. Paths
    // are dotted keys inside data.
    {.section = "sources.*.upcasts", .key = "type", .type = string, .reloadable = true,
     .help = "Event type (stored type or class name).", .required = true},
    {.section = "sources.*.upcasts", .key = "from_version", .type = integer, .reloadable = true,
     .help = "Schema version it upcasts; the event leaves it one higher. A type's upcasts leave no gap.",
     .required = true, .min_value = 1, .max_value = 1'000'000},
    {.section = "sources.*.upcasts", .key = "rename", .type = string_map, .default_value = "{}", .reloadable = true,
     .help = "First: { \"a.old\" = \"new\" } renames the key in place; a missing key is left alone."},
    {.section = "sources.*.upcasts", .key = "move", .type = string_map, .default_value = "{}", .reloadable = true,
     .help = "Then: { \"a.b\" = \"c\" } moves a value to another path; a missing one is left alone."},
    {.section = "sources.*.upcasts", .key = "split", .type = json_table, .default_value = "{}", .reloadable = true,
     .help = "Then: { name = [\"first_name\", \"last_name\"] } splits a string at its first space (no space:"
             " the second part is \"\") and removes it."},
    {.section = "sources.*.upcasts", .key = "drop", .type = string_list, .default_value = "[]", .reloadable = true,
     .help = "Then: paths removed."},
    {.section = "sources.*.upcasts", .key = "default", .type = json_table, .default_value = "{}", .reloadable = true,
     .help = "Last: { \"a.b\" = VALUE } sets the path where it is missing."},

    // [handlers.NAME]: the keys of every kind (kind itself, and those that depend on the registered kinds, are
    // added by OptionTable)
    {.section = "handlers.*", .key = "source", .type = string, .reloadable = true,
     .help = "Name of a [sources.NAME]; may be omitted when there is exactly one."},
    {.section = "handlers.*", .key = "types", .type = string_list, .default_value = "[]", .reloadable = true,
     .help = "Event types handled (stored type or class name); []: all."},
    {.section = "handlers.*", .key = "on_error", .type = string, .default_value = R"("stop")", .reloadable = true,
     .help = "After max_attempts: halt this handler, or dead-letter the event and go on.",
     .choices = "stop|dead_letter"},
    {.section = "handlers.*", .key = "max_attempts", .type = integer, .default_value = "5", .reloadable = true,
     .help = "Tries per event before on_error applies.", .min_value = 1, .max_value = 1000},
    {.section = "handlers.*", .key = "partitions", .type = integer, .default_value = "1", .reloadable = true,
     .help = "Lanes it runs as, split by a hash of stream_id (postgres sources): each keeps one stream's order,"
             " with its own checkpoint and lease, so several processes share the handler.",
     .min_value = 1, .max_value = 64},
    {.section = "handlers.*", .key = "retry_backoff", .type = duration, .default_value = R"("200ms")",
     .reloadable = true, .help = "First retry delay; doubles per attempt."},
    {.section = "handlers.*", .key = "retry_backoff_max", .type = duration, .default_value = R"("10s")",
     .reloadable = true, .help = "Longest retry delay."},
    // clang-format on
};

}  // namespace

const std::vector<Option>& fixed_options() { return kOptions; }

std::string_view codec_name(Codec codec) {
  const auto row =
      std::ranges::find_if(kOptions, [](const Option& o) { return o.section == "sources.*" && o.key == "codec"; });
  return list_item(row->choices, '|', static_cast<std::size_t>(codec));
}

}  // namespace projectord::config
