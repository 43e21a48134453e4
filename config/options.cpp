#include "config/options.hpp"

#include <fmt/format.h>

#include <algorithm>

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
    {.section = "daemon", .key = "shutdown_timeout", .type = duration, .default_value = R"("30s")", .reloadable = true,
     .help = "How long SIGTERM waits for in-flight batches before exiting."},
    {.section = "daemon", .key = "stuck_after", .type = duration, .default_value = R"("60s")", .reloadable = true,
     .help = "A handler without progress this long while work waits is reported stuck (and not ready)."},

    // [database]
    {.section = "database", .key = "url", .type = string, .reloadable = false,
     .help = "libpq conninfo or URI of the database holding read models, checkpoints, dead letters.", .required = true},
    {.section = "database", .key = "url_file", .type = string, .reloadable = false,
     .help = "Read url from this file (relative to the config file), minus its trailing newline."},
    {.section = "database", .key = "synchronous_commit", .type = string, .default_value = R"("off")", .reloadable = false,
     .help = "synchronous_commit of projection transactions. off is safe: a server crash loses read model and"
             " checkpoint together, and the events are applied again.", .choices = "off|local|on"},

    // [http]
    {.section = "http", .key = "listen", .type = string, .default_value = R"("127.0.0.1:9464")", .reloadable = false,
     .help = "HOST:PORT of the health, metrics and admin endpoints ([::1]:9464 for IPv6); empty: no HTTP."},
    {.section = "http", .key = "admin_token", .type = string, .reloadable = true,
     .help = "When set, POST /admin/... needs 'Authorization: Bearer TOKEN'. Prefer admin_token_file or ${ENV}."},
    {.section = "http", .key = "admin_token_file", .type = string, .reloadable = true,
     .help = "Read admin_token from this file instead."},
    {.section = "http", .key = "ready_max_lag", .type = duration, .default_value = R"("5min")", .reloadable = true,
     .help = "/readyz fails while a handler has been behind its source's head for longer than this."},

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
     .choices = "eventsourcing|eventsourcing_django|django_event_store|generic"},
    {.section = "sources.*", .key = "table", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Event table, may be schema.table; required for django_event_store and generic."},
    {.section = "sources.*", .key = "position_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Global position (sequence values); required for generic."},
    {.section = "sources.*", .key = "stream_id_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Stream (aggregate) id."},
    {.section = "sources.*", .key = "version_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Version within the stream."},
    {.section = "sources.*", .key = "type_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Event type; required for generic."},
    {.section = "sources.*", .key = "payload_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Event data, decoded by codec; required for generic."},
    {.section = "sources.*", .key = "metadata_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "JSON metadata; none: metadata is {}."},
    {.section = "sources.*", .key = "recorded_at_column", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Time the event was recorded."},
    {.section = "sources.*", .key = "recorded_at_path", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Payload key holding the time when no column does: data.KEY, e.g. data.timestamp."},
    {.section = "sources.*", .key = "filter_column", .type = string,
     .kinds = "eventsourcing,django_event_store,generic", .reloadable = true,
     .help = "Read only rows where this column equals filter_value."},
    {.section = "sources.*", .key = "filter_value", .type = string, .kinds = "eventsourcing,django_event_store,generic",
     .reloadable = true, .help = "See filter_column."},
    {.section = "sources.*", .key = "application_name", .type = string, .kinds = "eventsourcing_django",
     .reloadable = true, .help = "Required: read only rows with this application_name."},
    {.section = "sources.*", .key = "codec", .type = string, .reloadable = true,
     .help = "Payload (postgres) or data field (redis) encoding; default per preset, json for redis.",
     .choices = "json|json_zlib|eventsourcing_json|eventsourcing_json_zlib"},
    {.section = "sources.*", .key = "commit_order", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "serialized: writers lock the table, holes need no wait; default per preset.",
     .choices = "concurrent|serialized"},
    {.section = "sources.*", .key = "notify_channel", .type = string, .kinds = "postgres", .reloadable = true,
     .help = "Channel LISTENed on; default projectord_TABLE ('.' becomes '_')."},
    {.section = "sources.*", .key = "poll_interval", .type = duration, .default_value = R"("1s")", .kinds = "postgres", .reloadable = true,
     .help = "Read the table this often even without a notification."},
    {.section = "sources.*", .key = "hole_grace", .type = duration, .default_value = R"("500ms")", .kinds = "postgres", .reloadable = true,
     .help = "Wait after a hole's possible writers ended before skipping it."},
    {.section = "sources.*", .key = "max_hole_wait", .type = duration, .default_value = R"("5min")", .kinds = "postgres", .reloadable = true,
     .help = "Longest wait on a hole held open by a long transaction."},
    {.section = "sources.*", .key = "hole_recheck", .type = duration, .default_value = R"("10min")", .kinds = "postgres", .reloadable = true,
     .help = "How long holes passed while live are looked at again; a row that commits there later is applied then. 0: never."},
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
    {.section = "sources.*", .key = "block", .type = duration, .default_value = R"("1s")", .kinds = "redis",
     .reloadable = true, .help = "Longest XREADGROUP BLOCK; a pause or stop waits at most this long."},
    {.section = "sources.*", .key = "claim_idle", .type = duration, .default_value = R"("1min")", .kinds = "redis",
     .reloadable = true, .help = "Entries another consumer read and left unacknowledged this long are claimed."},
    {.section = "sources.*", .key = "batch_size", .type = integer, .default_value = "5000", .reloadable = true,
     .help = "Most events read at once; while catching up, one transaction spans up to 4 such reads.", .min_value = 1, .max_value = 100'000},

    // [handlers.NAME]
    {.section = "handlers.*", .key = "kind", .type = string, .reloadable = true, .help = "What the handler does: a projection"
     " (sql, event_log, users) or a side effect, delivered at least once (webhook, celery, redis_publish).",
     .required = true, .choices = "sql|event_log|users|webhook|celery|redis_publish"},
    {.section = "handlers.*", .key = "source", .type = string, .reloadable = true,
     .help = "Name of a [sources.NAME]; may be omitted when there is exactly one."},
    {.section = "handlers.*", .key = "types", .type = string_list, .default_value = "[]", .reloadable = true,
     .help = "Event types handled (stored type or class name); []: all."},
    {.section = "handlers.*", .key = "on_error", .type = string, .default_value = R"("stop")", .reloadable = true,
     .help = "After max_attempts: halt this handler, or dead-letter the event and go on.",
     .choices = "stop|dead_letter"},
    {.section = "handlers.*", .key = "max_attempts", .type = integer, .default_value = "5", .reloadable = true,
     .help = "Tries per event before on_error applies.", .min_value = 1, .max_value = 1000},
    {.section = "handlers.*", .key = "retry_backoff", .type = duration, .default_value = R"("200ms")",
     .reloadable = true, .help = "First retry delay; doubles per attempt."},
    {.section = "handlers.*", .key = "retry_backoff_max", .type = duration, .default_value = R"("10s")",
     .reloadable = true, .help = "Longest retry delay."},
    {.section = "handlers.*", .key = "rebuild_on_signal", .type = boolean, .default_value = "false", .kinds = "sql,event_log,users", .reloadable = true,
     .help = "SIGUSR1 rebuilds this handler's read model (blue/green, like POST /admin/rebuild/NAME)."},
    {.section = "handlers.*", .key = "rebuild_max_rate", .type = integer, .default_value = "0", .kinds = "sql,event_log,users", .reloadable = true,
     .help = "Events/s a rebuild replays at most (0: unlimited); POST /admin/rebuild/NAME?max_rate=N overrides.",
     .min_value = 0, .max_value = 100000000},
    // [handlers.NAME] side effects
    {.section = "handlers.*", .key = "url", .type = string, .kinds = "webhook,celery,redis_publish",
     .reloadable = true, .help = "webhook: http(s)://host[:port]/path; celery: the Redis broker; redis_publish: the"
     " Redis server (redis://...). Required."},
    {.section = "handlers.*", .key = "url_file", .type = string, .kinds = "webhook,celery,redis_publish",
     .reloadable = true, .help = "Read url from this file instead."},
    {.section = "handlers.*", .key = "secret", .type = string, .kinds = "webhook", .reloadable = true,
     .help = "Signs each request: X-Projectord-Signature is v1=HMAC-SHA256(secret, timestamp.body) in hex."},
    {.section = "handlers.*", .key = "secret_file", .type = string, .kinds = "webhook", .reloadable = true,
     .help = "Read secret from this file instead."},
    {.section = "handlers.*", .key = "connect_timeout", .type = duration, .default_value = R"("5s")",
     .kinds = "webhook", .reloadable = true, .help = "Longest wait for a connection (and TLS handshake)."},
    {.section = "handlers.*", .key = "request_timeout", .type = duration, .default_value = R"("10s")",
     .kinds = "webhook", .reloadable = true, .help = "Longest wait for a response."},
    {.section = "handlers.*", .key = "max_in_flight", .type = integer, .default_value = "16", .kinds = "webhook",
     .reloadable = true, .help = "Requests sent concurrently.", .min_value = 1, .max_value = 1024},
    {.section = "handlers.*", .key = "ca_file", .type = string, .kinds = "webhook", .reloadable = true,
     .help = "PEM bundle trusted for https besides the system's."},
    {.section = "handlers.*", .key = "task", .type = string, .kinds = "celery", .reloadable = true,
     .help = "Registered Celery task name, e.g. users.tasks.send_welcome_email. Required."},
    {.section = "handlers.*", .key = "queue", .type = string, .default_value = R"("celery")", .kinds = "celery",
     .reloadable = true, .help = "Celery queue the task is sent to."},
    {.section = "handlers.*", .key = "args", .type = string_list, .default_value = "[]", .kinds = "celery",
     .reloadable = true, .help = "Event paths of the task's positional arguments, e.g. [\"stream_id\", \"data.email\"]."},
    {.section = "handlers.*", .key = "kwargs", .type = string_map, .default_value = "{}", .kinds = "celery",
     .reloadable = true, .help = "Keyword arguments: { name = \"data.name\" }."},
    {.section = "handlers.*", .key = "stream", .type = string, .kinds = "redis_publish", .reloadable = true,
     .help = "Stream key entries are added to. Required."},
    {.section = "handlers.*", .key = "maxlen", .type = integer, .default_value = "0", .kinds = "redis_publish",
     .reloadable = true, .help = "Trim the stream to about this many entries (MAXLEN ~); 0: never.",
     .min_value = 0, .max_value = 1'000'000'000},
    {.section = "handlers.*", .key = "fields", .type = string_map, .default_value = "{}", .kinds = "redis_publish",
     .reloadable = true, .help = "Entry fields: { field = \"event path\" }; {}: type, stream_id, version, data,"
     " metadata, source, position, recorded_at."},
    {.section = "handlers.*", .key = "table", .type = string, .kinds = "event_log,users", .reloadable = true,
     .help = "Target table; default user_event_log (event_log), user_projection (users)."},
    {.section = "handlers.*", .key = "setup", .type = string, .kinds = "sql", .reloadable = true,
     .help = "DDL run by projectord migrate; make it idempotent."},
    {.section = "handlers.*", .key = "statements", .type = table_list, .kinds = "sql", .reloadable = true,
     .help = "Statements run per event, at least one."},

    // [[handlers.NAME.statements]]
    {.section = "handlers.*.statements", .key = "on", .type = string, .reloadable = true,
     .help = "Event type (stored type or class name).", .required = true},
    {.section = "handlers.*.statements", .key = "sql", .type = string, .reloadable = true,
     .help = "SQL with $1..$n placeholders.", .required = true},
    {.section = "handlers.*.statements", .key = "params", .type = string_list, .default_value = "[]",
     .reloadable = true, .help = "Event paths bound to $1..$n: stream_id, data.email, recorded_at, ..."},
    // clang-format on
};

std::string_view type_name(OptionType type) {
  switch (type) {
    case string:
      return "string";
    case integer:
      return "integer";
    case boolean:
      return "boolean";
    case duration:
      return "duration";
    case string_list:
      return "strings";
    case table_list:
      return "tables";
    case string_map:
      return "table";
  }
  return "?";
}

// "handlers.*.statements" -> "[[handlers.NAME.statements]]": the header a user writes.
std::string section_header(std::string_view section) {
  std::string name(section);
  if (const auto star = name.find('*'); star != std::string::npos) name.replace(star, 1, "NAME");
  const auto dot = section.rfind('.');
  const Option* parent =
      dot == std::string_view::npos ? nullptr : find_option(section.substr(0, dot), section.substr(dot + 1));
  return parent != nullptr && parent->type == table_list ? "[[" + name + "]]" : "[" + name + "]";
}

}  // namespace

const std::vector<Option>& option_table() { return kOptions; }

const Option* find_option(std::string_view section, std::string_view key) {
  const auto it = std::ranges::find_if(kOptions, [&](const Option& o) { return o.section == section && o.key == key; });
  return it == kOptions.end() ? nullptr : &*it;
}

std::string options_help() {
  std::string out =
      "Durations: 250ms, 1s, 10min, 2h. $${ is a literal ${. [a|b]: allowed values; (only: ...): the kinds or\n"
      "presets a key applies to; (restart): SIGHUP does not apply it.\n";
  std::string_view section;
  for (const Option& o : kOptions) {
    if (o.section != section) {
      section = o.section;
      out += section_header(section) + "\n";
    }
    const std::string_view shown_default = o.required ? "required" : o.default_value.empty() ? "-" : o.default_value;
    std::string help(o.help);
    if (!o.choices.empty()) help += " [" + std::string(o.choices) + "]";
    if (o.max_value > 0) help += fmt::format(" [{}..{}]", o.min_value, o.max_value);
    if (!o.kinds.empty()) help += " (only: " + std::string(o.kinds) + ")";
    if (!o.reloadable) help += " (restart)";
    out += fmt::format("  {:<19} {:<9} {:<10} {}\n", o.key, type_name(o.type), shown_default, help);
  }
  return out;
}

}  // namespace projectord::config
