#include "handlers/builtin_kinds.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

#include "config/connection_url.hpp"
#include "handlers/event_log_handler.hpp"
#include "handlers/side_effects/celery_task.hpp"
#include "handlers/side_effects/redis_publish.hpp"
#include "handlers/side_effects/side_effect_handler.hpp"
#include "handlers/side_effects/webhook.hpp"
#include "handlers/sql_handler.hpp"
#include "handlers/users_handler.hpp"

namespace projectord::handlers {
namespace {

using enum config::OptionType;
using config::KindSection;
using config::Option;

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Only a plausibility check at load: the handlers compile the paths (handlers/event_path.hpp) and say what
// is wrong.
bool is_plausible_event_path(std::string_view path) {
  const auto bad_char = [](char c) { return static_cast<unsigned char>(c) <= ' '; };
  return !path.empty() && path.front() != '.' && path.back() != '.' && path.find("..") == std::string_view::npos &&
         std::ranges::none_of(path, bad_char);
}

// ---------------------------------------------------------------------------------------------------------
// sql

// clang-format off
const std::vector<Option> kSqlOptions{
    {.section = "handlers.*", .key = "setup", .type = string, .reloadable = true,
     .help = "DDL run by projectord migrate; make it idempotent."},
    {.section = "handlers.*", .key = "statements", .type = table_list, .reloadable = true,
     .help = "Statements run per event, at least one."},
    {.section = "handlers.*.statements", .key = "on", .type = string, .reloadable = true,
     .help = "Event type (stored type or class name).", .required = true},
    {.section = "handlers.*.statements", .key = "version", .type = integer, .reloadable = true,
     .help = "Only events of this schema version (after the source's upcasts); none: every version.",
     .min_value = 1, .max_value = 1'000'000},
    {.section = "handlers.*.statements", .key = "versions", .type = string, .reloadable = true,
     .help = "Or a range of them: \"1..2\", or \"2..\" for 2 and above."},
    {.section = "handlers.*.statements", .key = "sql", .type = string, .reloadable = true,
     .help = "SQL with $1..$n placeholders.", .required = true},
    {.section = "handlers.*.statements", .key = "params", .type = string_list, .default_value = "[]",
     .reloadable = true, .help = "Event paths bound to $1..$n: stream_id, data.email, recorded_at, ..."},
};
// clang-format on

// "A..B" or "A.." (no upper bound) into the statement's bounds.
void load_versions(KindSection& s, config::SqlStatement& statement) {
  const std::string& text = s.str("versions");
  const auto dots = text.find("..");
  const auto number = [](std::string_view digits, std::int64_t& out) {
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return !digits.empty() && ec == std::errc{} && end == digits.data() + digits.size() && out >= 1;
  };
  std::int64_t low = 0, high = std::numeric_limits<std::int64_t>::max();
  const std::string_view upper = dots == std::string::npos ? "" : std::string_view(text).substr(dots + 2);
  if (dots == std::string::npos || !number(std::string_view(text).substr(0, dots), low) ||
      (!upper.empty() && !number(upper, high))) {
    s.error("versions", "expected FROM..TO or FROM.. with versions from 1, e.g. \"1..2\", got " + in_quotes(text));
  } else if (high < low) {
    s.error("versions", in_quotes(text) + " is empty: " + std::to_string(low) + " is above " + std::to_string(high));
  } else {
    statement.min_version = low;
    statement.max_version = high;
  }
}

config::SqlStatement load_statement(KindSection& s) {
  config::SqlStatement statement{.on = s.str("on"), .sql = s.str("sql"), .params = s.strings("params"), .line = s.line()};
  if (s.has("on") && statement.on.empty()) s.error("on", "must not be empty");
  if (s.has("version") && s.has("versions")) {
    s.error("versions", "set version or versions, not both");
  } else if (s.has("version")) {
    statement.min_version = statement.max_version = s.integer("version");
  } else if (s.has("versions")) {
    load_versions(s, statement);
  }
  if (s.has("sql") && statement.sql.find_first_not_of(" \t\r\n") == std::string::npos) {
    s.error("sql", "must not be empty");
  }
  for (const std::string& param : statement.params) {
    if (!is_plausible_event_path(param)) {
      s.error("params", in_quotes(param) + " is not an event path such as stream_id or data.email");
    }
  }
  return statement;
}

void load_sql(KindSection& s, config::Handler& handler) {
  handler.setup = s.str("setup");
  s.each_table("statements", [&](KindSection& statement) { handler.statements.push_back(load_statement(statement)); });
  if (handler.statements.empty()) {
    s.error("statements", s.has("statements") ? "must not be empty"
                                              : "required for kind sql: add [[" + s.path("statements") + "]]");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Side effects

// clang-format off
const Option kUrl{.section = "handlers.*", .key = "url", .type = string, .reloadable = true,
    .help = "webhook: http(s)://host[:port]/path; celery: the Redis broker; redis_publish: the Redis server"
            " (redis://...). Required."};
const Option kUrlFile{.section = "handlers.*", .key = "url_file", .type = string, .reloadable = true,
    .help = "Read url from this file instead."};

const std::vector<Option> kWebhookOptions{
    kUrl, kUrlFile,
    {.section = "handlers.*", .key = "secret", .type = string, .reloadable = true,
     .help = "Signs each request: X-Projectord-Signature is v1=HMAC-SHA256(secret, timestamp.body) in hex."},
    {.section = "handlers.*", .key = "secret_file", .type = string, .reloadable = true,
     .help = "Read secret from this file instead."},
    {.section = "handlers.*", .key = "connect_timeout", .type = duration, .default_value = R"("5s")",
     .reloadable = true, .help = "Longest wait for a connection (and TLS handshake)."},
    {.section = "handlers.*", .key = "request_timeout", .type = duration, .default_value = R"("10s")",
     .reloadable = true, .help = "Longest wait for a response."},
    {.section = "handlers.*", .key = "max_in_flight", .type = integer, .default_value = "16",
     .reloadable = true, .help = "Requests sent concurrently.", .min_value = 1, .max_value = 1024},
    {.section = "handlers.*", .key = "ca_file", .type = string, .reloadable = true,
     .help = "PEM bundle trusted for https besides the system's."},
    {.section = "handlers.*", .key = "allow_plain_http", .type = boolean, .default_value = "false",
     .reloadable = true, .help = "Send a secret's signature over http:// (anyone on the way can read and replay"
     " requests): for a trusted network only."},
};

const std::vector<Option> kCeleryOptions{
    kUrl, kUrlFile,
    {.section = "handlers.*", .key = "task", .type = string, .reloadable = true,
     .help = "Registered Celery task name, e.g. users.tasks.send_welcome_email. Required."},
    {.section = "handlers.*", .key = "queue", .type = string, .default_value = R"("celery")",
     .reloadable = true, .help = "Celery queue the task is sent to."},
    {.section = "handlers.*", .key = "args", .type = string_list, .default_value = "[]",
     .reloadable = true, .help = "Event paths of the task's positional arguments, e.g. [\"stream_id\", \"data.email\"]."},
    {.section = "handlers.*", .key = "kwargs", .type = string_map, .default_value = "{}",
     .reloadable = true, .help = "Keyword arguments: { name = \"data.name\" }."},
};

const std::vector<Option> kRedisPublishOptions{
    kUrl, kUrlFile,
    {.section = "handlers.*", .key = "stream", .type = string, .reloadable = true,
     .help = "Stream key entries are added to. Required."},
    {.section = "handlers.*", .key = "maxlen", .type = integer, .default_value = "0",
     .reloadable = true, .help = "Trim the stream to about this many entries (MAXLEN ~); 0: never.",
     .min_value = 0, .max_value = 1'000'000'000},
    {.section = "handlers.*", .key = "fields", .type = string_map, .default_value = "{}",
     .reloadable = true, .help = "Entry fields: { field = \"event path\" }; {}: type, stream_id, version, data,"
     " metadata, source, position, recorded_at."},
};
// clang-format on

void load_url(KindSection& s, config::Handler& handler) {
  handler.side_effect.url = s.str("url");
  if (!s.has("url")) s.error("url", "required for kind " + handler.kind);
}

void check_path(KindSection& s, std::string_view key, const std::string& path) {
  if (!is_plausible_event_path(path)) s.error(key, in_quotes(path) + " is not an event path such as data.email");
}

void check_paths(KindSection& s, std::string_view key, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) check_path(s, key, path);
}

// A loop rather than std::views::values, which clang 14 (the fuzz build's compiler) cannot compile with
// libstdc++ 12.
void check_paths(KindSection& s, std::string_view key, const std::map<std::string, std::string>& paths) {
  for (const auto& [name, path] : paths) check_path(s, key, path);
}

void load_webhook(KindSection& s, config::Handler& handler) {
  config::SideEffectSettings& out = handler.side_effect;
  load_url(s, handler);
  out.secret = s.str("secret");
  out.connect_timeout = s.duration("connect_timeout");
  out.request_timeout = s.duration("request_timeout");
  out.max_in_flight = static_cast<std::size_t>(s.integer("max_in_flight"));
  out.ca_file = s.str("ca_file");
  out.allow_plain_http = s.flag("allow_plain_http");
  if (!out.secret.empty() && out.url.starts_with("http://") && !out.allow_plain_http) {
    s.error("url", "a signed webhook over plain http can be read and replayed on the way: use https, or set"
                   " allow_plain_http = true on a trusted network");
  }
}

void load_celery(KindSection& s, config::Handler& handler) {
  config::SideEffectSettings& out = handler.side_effect;
  load_url(s, handler);
  config::check_redis_url(s, "url");
  out.task = s.str("task");
  out.queue = s.str("queue");
  out.args = s.strings("args");
  out.kwargs = s.string_map("kwargs");
  if (out.task.empty()) s.error("task", "required for kind celery");
  check_paths(s, "args", out.args);
  check_paths(s, "kwargs", out.kwargs);
}

void load_redis_publish(KindSection& s, config::Handler& handler) {
  config::SideEffectSettings& out = handler.side_effect;
  load_url(s, handler);
  config::check_redis_url(s, "url");
  out.stream = s.str("stream");
  out.maxlen = s.integer("maxlen");
  out.fields = s.string_map("fields");
  if (out.stream.empty()) s.error("stream", "required for kind redis_publish");
  check_paths(s, "fields", out.fields);
}

// ---------------------------------------------------------------------------------------------------------
// users

// clang-format off
const std::vector<Option> kUsersOptions{
    {.section = "handlers.*", .key = "fold_memory", .type = byte_size, .default_value = R"("256MiB")",
     .reloadable = true,
     .help = "Memory the user folds of a catch-up or rebuild may hold: a transaction folds its reads until it"
             " holds half of this (the previous one is being written meanwhile), so each user's row is written"
             " once per transaction. Peak RSS stays near this plus 40MiB while catching up.",
     .min_value = 64 << 10, .max_value = std::int64_t{64} << 30},
};
// clang-format on

// A side effect runs in a lane like a projection (handlers/side_effects/side_effect_handler.hpp).
template <class Effect>
Result<std::unique_ptr<ProjectionHandler>> side_effect(const config::Handler& handler) {
  auto effect = Effect::make(handler);
  if (!effect) return fail(effect.error());
  return std::unique_ptr<ProjectionHandler>(
      std::make_unique<SideEffectHandler>(handler.name, std::move(*effect), handler.max_attempts));
}

}  // namespace

std::vector<Kind> builtin_kinds() {
  // Every built-in kind may be partitioned: event_log writes a row per event, users a row per user stream,
  // side effects write none; a sql handler's statements are the user's, who partitions it only when each
  // row they write belongs to one stream (docs/operations.md, "Partitioned handlers").
  return {
      {.schema = {.name = "sql", .partitionable = true, .options = kSqlOptions, .load = load_sql},
       .make = &SqlHandler::make},
      {.schema = {.name = "event_log", .partitionable = true, .default_table = "user_event_log"},
       .make = &EventLogHandler::make},
      {.schema = {.name = "users", .partitionable = true, .default_table = "user_projection", .options = kUsersOptions},
       .make = &UsersHandler::make},
      {.schema = {.name = "webhook", .side_effect = true, .partitionable = true, .options = kWebhookOptions,
                  .load = load_webhook},
       .make = &side_effect<Webhook>},
      {.schema = {.name = "celery", .side_effect = true, .partitionable = true, .options = kCeleryOptions,
                  .load = load_celery},
       .make = &side_effect<CeleryTask>},
      {.schema = {.name = "redis_publish", .side_effect = true, .partitionable = true,
                  .options = kRedisPublishOptions, .load = load_redis_publish},
       .make = &side_effect<RedisPublish>},
  };
}

}  // namespace projectord::handlers
