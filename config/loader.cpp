#include "config/loader.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "base/http/listen_address.hpp"
#include "base/postgres/identifier.hpp"
#include "config/cipher_key_option.hpp"
#include "config/connection_url.hpp"
#include "config/control.hpp"
#include "config/duration.hpp"
#include "config/interpolation.hpp"
#include "config/notify_route.hpp"
#include "config/presets.hpp"
#include "config/section.hpp"
#include "config/text.hpp"
#include "config/upcast_loader.hpp"

namespace projectord::config {
namespace {

// Source and handler names become parts of identifiers (checkpoint keys, shadow schemas for rebuilds).
constexpr std::size_t kMaxNameLength = 48;

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength && name.front() >= 'a' && name.front() <= 'z' &&
         std::ranges::all_of(name, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

/// One [GROUP.NAME] table, e.g. [sources.shop].
struct Named {
  std::string name;
  const toml::table* table;
  std::size_t line;
};

struct Document {
  std::map<std::string, std::pair<const toml::table*, std::size_t>, std::less<>> sections;  ///< [daemon], [database]
  std::map<std::string, std::vector<Named>, std::less<>> groups;                            ///< sources, handlers
};

Document split_document(const toml::table& root, const OptionTable& options, Diagnostics& diagnostics) {
  Document document;
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    const std::size_t at = key.source().begin.line;
    const bool single = options.has_section(name);
    if (!single && !options.has_section(name + ".*")) {
      diagnostics.add(at, name, "unknown section");
      continue;
    }
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      diagnostics.add(at, name, expected("table", node));
      continue;
    }
    if (single) {
      document.sections.emplace(name, std::pair{table, at});
      continue;
    }
    auto& members = document.groups[name];
    for (auto&& [member_key, member] : *table) {
      const std::string member_name(member_key.str());
      const std::size_t member_at = member_key.source().begin.line;
      if (!is_valid_name(member_name)) {
        diagnostics.add(member_at, name + "." + member_name,
                        "bad name: use a-z, 0-9 and _, starting with a letter, at most " +
                            std::to_string(kMaxNameLength) + " characters");
      } else if (member.as_table() == nullptr) {
        diagnostics.add(member_at, name + "." + member_name, expected("table", member));
      } else {
        members.push_back({member_name, member.as_table(), member_at});
      }
    }
  }
  return document;
}

Section single_section(const OptionTable& options, Diagnostics& diagnostics, const Document& document,
                       std::string_view name) {
  const auto found = document.sections.find(name);
  if (found == document.sections.end()) return Section(options, diagnostics, name, std::string(name), nullptr, 0);
  return Section(options, diagnostics, name, std::string(name), found->second.first, found->second.second);
}

const std::vector<Named>& group(const Document& document, std::string_view name) {
  static const std::vector<Named> kNone;
  const auto found = document.groups.find(name);
  return found == document.groups.end() ? kNone : found->second;
}

// "data.a.b" or "metadata.a": a root the decoder reads and keys below it, none empty.
bool is_json_path(std::string_view path) {
  const auto dot = path.find('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view root = path.substr(0, dot), keys = path.substr(dot + 1);
  return (root == "data" || root == "metadata") && !keys.empty() && keys.front() != '.' && keys.back() != '.' &&
         keys.find("..") == std::string_view::npos;
}

// Behind a transaction pooler LISTEN must go around it: to listen_url, which only that pooling uses.
void check_pooling(Section& database, Section& control, const Config& config) {
  if (config.pooling == postgres::Pooling::session) {
    if (database.has("listen_url")) database.error("listen_url", "only for pooling = \"transaction\"");
    return;
  }
  check_postgres_url(database, "listen_url");
  if (config.control.notify && config.listen_url.empty()) {
    control.error("notify", "needs [database] listen_url with pooling = \"transaction\" (LISTEN does not work"
                            " through a transaction pooler)");
  }
}

PostgresSource load_postgres_source(Section& s, const std::string& database_url) {
  PostgresSource source;
  if (!s.has("preset")) s.error("preset", "required for kind postgres");
  source.preset = s.str("preset");
  const Preset* preset = find_preset(source.preset);
  if (preset != nullptr) {
    for (const auto& [key, value] : preset->defaults) s.set_default(key, value);
    for (const std::string_view key : preset->required) {
      if (!s.has(key)) s.error(key, "required for preset " + source.preset);
    }
  }
  source.url = s.has("url") ? s.str("url") : database_url;
  check_postgres_url(s, "url");
  source.table = s.str("table");
  source.tables = s.strings("tables");
  source.type_names = s.string_map("type_names");
  if (source.preset == kEventTablesPreset) {
    // Each table gives its rows' type, each row is its payload; there is no version or metadata to map.
    for (const std::string_view key :
         {"table", "type_column", "payload_column", "version_column", "metadata_column", "payload_format_column"}) {
      if (s.has(key)) s.error(key, key == "table" ? "not for preset django_event_tables: list them in tables"
                                                  : "not for preset django_event_tables");
    }
  }
  source.position_column = s.str("position_column");
  source.stream_id_column = s.str("stream_id_column");
  source.version_column = s.str("version_column");
  source.type_column = s.str("type_column");
  source.payload_column = s.str("payload_column");
  source.metadata_column = s.str("metadata_column");
  source.payload_format_column = s.str("payload_format_column");
  source.recorded_at_column = s.str("recorded_at_column");
  source.recorded_at_path = s.str("recorded_at_path");
  // sources/row_decoder.cpp reads the time from one top-level key of the payload.
  constexpr std::string_view kPayload = "data.";
  const std::string_view path = source.recorded_at_path;
  const std::string_view payload_key = path.starts_with(kPayload) ? path.substr(kPayload.size()) : "";
  if (!path.empty() && (payload_key.empty() || payload_key.find('.') != std::string_view::npos)) {
    s.error("recorded_at_path", "must be data.KEY, a top-level key of the payload, got " + in_quotes(path));
  }
  source.event_version_column = s.str("event_version_column");
  source.event_version_path = s.str("event_version_path");
  if (!source.event_version_path.empty() && !is_json_path(source.event_version_path)) {
    s.error("event_version_path", "must be data.KEY or metadata.KEY (KEY may be dotted), got " +
                                      in_quotes(source.event_version_path));
  }
  // One written replaces the preset's other.
  if (s.has("event_version_column") && s.has("event_version_path")) {
    s.error("event_version_path", "set event_version_column or event_version_path, not both");
  } else if (s.has("event_version_column")) {
    source.event_version_path.clear();
  } else if (s.has("event_version_path")) {
    source.event_version_column.clear();
  }
  source.upcasts = load_upcasts(s);
  source.filter_column = s.str("filter_column");
  source.filter_value = s.has("application_name") ? s.str("application_name") : s.str("filter_value");
  if (s.has("filter_column") != s.has("filter_value")) {
    s.error(s.has("filter_column") ? "filter_column" : "filter_value", "filter_column and filter_value go together");
  }
  source.codec = s.choice<Codec>("codec");
  source.cipher_key = load_cipher_key(s, source.codec);
  source.commit_order = s.choice<CommitOrder>("commit_order");
  source.notify_channel = s.str("notify_channel");
  source.poll_interval = s.duration("poll_interval");
  if (source.poll_interval <= Duration::zero()) s.error("poll_interval", "must be more than 0");
  source.hole_grace = s.duration("hole_grace");
  source.max_hole_wait = s.duration("max_hole_wait");
  source.hole_recheck = s.duration("hole_recheck");
  source.share_reads = s.flag("share_reads");
  source.batch_size = static_cast<std::size_t>(s.integer("batch_size"));
  source.max_event_bytes = static_cast<std::size_t>(s.integer("max_event_bytes"));
  // Without a preset (a bad one is reported already) every column would be reported missing.
  if (preset != nullptr) {
    for (const auto& problem : check_mapping(source)) s.error(problem.key, problem.message);
  }
  if (source.notify_channel.empty() && !event_tables(source).front().empty()) {
    source.notify_channel = default_notify_channel(event_tables(source).front());
  }
  return source;
}

RedisSource load_redis_source(Section& s) {
  RedisSource source;
  source.url = s.str("url");
  if (!s.has("url")) s.error("url", "required for kind redis");
  check_redis_url(s, "url");
  source.stream = s.str("stream");
  if (!s.has("stream")) s.error("stream", "required for kind redis");
  source.group = s.str("group");
  source.consumer = s.str("consumer");
  source.start = s.str("start");
  source.type_field = s.str("type_field");
  source.stream_id_field = s.str("stream_id_field");
  source.version_field = s.str("version_field");
  source.data_field = s.str("data_field");
  if (s.has("codec")) source.codec = s.choice<Codec>("codec");
  source.cipher_key = load_cipher_key(s, source.codec);
  source.metadata_field = s.str("metadata_field");
  source.recorded_at_field = s.str("recorded_at_field");
  source.event_version_field = s.str("event_version_field");
  source.upcasts = load_upcasts(s);
  source.block = s.duration("block");
  if (source.block <= Duration::zero()) s.error("block", "must be more than 0");
  source.claim_idle = s.duration("claim_idle");
  source.batch_size = static_cast<std::size_t>(s.integer("batch_size"));
  source.max_event_bytes = static_cast<std::size_t>(s.integer("max_event_bytes"));
  for (const std::string_view key : {"stream", "group", "type_field", "data_field"}) {
    if (s.has(key) && s.str(key).empty()) s.error(key, "must not be empty");
  }
  return source;
}

Handler load_handler(Section& s, const OptionTable& options, const std::set<std::string, std::less<>>& sources) {
  Handler handler;
  handler.kind = s.str("kind");
  handler.line = s.line();
  handler.source = s.str("source");
  if (!s.has("source")) {
    if (sources.size() == 1) {
      handler.source = *sources.begin();
    } else {
      s.error("source", sources.empty() ? "required, and no [sources.NAME] is defined"
                                        : "required when more than one source is defined");
    }
  } else if (!handler.source.empty() && !sources.contains(handler.source)) {
    s.error("source", "no [sources." + handler.source + "] is defined");
  }
  handler.types = s.strings("types");
  handler.on_error = s.choice<OnError>("on_error");
  handler.max_attempts = static_cast<int>(s.integer("max_attempts"));
  handler.retry_backoff = s.duration("retry_backoff");
  handler.retry_backoff_max = s.duration("retry_backoff_max");
  handler.partitions = s.integer("partitions");
  handler.rebuild_on_signal = s.flag("rebuild_on_signal");
  handler.rebuild_max_rate = s.integer("rebuild_max_rate");
  if (handler.retry_backoff_max < handler.retry_backoff) {
    s.error("retry_backoff_max", "must be at least retry_backoff (" + format_duration(handler.retry_backoff) + ")");
  }

  const HandlerKind* kind = options.kind(handler.kind);
  if (kind == nullptr) return handler;  // a missing or unknown kind is reported already
  handler.is_side_effect = kind->side_effect;
  handler.start_at_head = handler.is_side_effect && s.str("start") == "head";
  if (!handler.is_side_effect) {  // a side effect's tracking keys are reported as not its kind's
    handler.tracking_table = s.str("tracking_table");
    handler.tracking_application = s.str("tracking_application");
    if (s.has("tracking_table")) {
      if (const std::string problem = postgres::identifier_problem(handler.tracking_table, true); !problem.empty()) {
        s.error("tracking_table", problem);
      }
      if (handler.tracking_application.empty()) s.error("tracking_application", "required with tracking_table");
    } else if (s.has("tracking_application")) {
      s.error("tracking_table", "required with tracking_application");
    }
  }
  if (!kind->default_table.empty()) {
    s.set_default("table", kind->default_table);
    handler.table = s.str("table");
    if (const std::string problem = postgres::identifier_problem(handler.table, true); !problem.empty()) {
      s.error("table", problem);
    }
  }
  if (handler.partitions > 1 && !kind->partitionable) {
    s.error("partitions", "a " + handler.kind + " handler may not be partitioned: its rows may span streams");
  }
  for (const Option& row : kind->options) {
    if (row.section != "handlers.*") continue;
    if (const OptionValue* value = s.value(row.key)) handler.options.emplace(row.key, *value);
  }
  if (kind->load) kind->load(s, handler);
  return handler;
}

// A partition is a hash of each row's stream id, one more term of the source's read (sources/postgres/reader.hpp),
// and each partition keeps a checkpoint of its own.
void check_partitioned(Section& s, const Handler& handler, const Config& config) {
  if (handler.source.empty()) return;  // reported already
  const auto postgres = config.postgres_sources.find(handler.source);
  if (postgres == config.postgres_sources.end()) {
    s.error("partitions", "needs a postgres source: a redis stream's consumer group hands entries out in order,"
                          " not by stream");
  } else if (!postgres->second.tables.empty() || postgres->second.stream_id_column.empty()) {
    s.error("partitions", "needs a source with a stream_id_column: partitions are by stream");
  }
  if (!handler.tracking_table.empty()) {
    s.error("tracking_table", "a partitioned handler has a position per partition; a tracking row holds one");
  }
}

void load_document(const toml::table& root, const OptionTable& options, Diagnostics& diagnostics, Config& config) {
  const Document document = split_document(root, options, diagnostics);

  Section daemon = single_section(options, diagnostics, document, "daemon");
  config.daemon.log_level = daemon.str("log_level");
  config.daemon.log_format = daemon.str("log_format");
  config.daemon.shutdown_timeout = daemon.duration("shutdown_timeout");
  config.daemon.stuck_after = daemon.duration("stuck_after");
  config.daemon.lease_length = daemon.duration("lease_length");
  config.daemon.lease_renew_interval = daemon.duration("lease_renew_interval");
  // A renewal no more often than the lease lasts would let it expire under a live owner.
  if (config.daemon.lease_renew_interval >= config.daemon.lease_length) {
    daemon.error("lease_renew_interval", "must be shorter than lease_length");
  }
  config.daemon.handlers = daemon.strings("handlers");

  Section http = single_section(options, diagnostics, document, "http");
  config.http.listen = http.str("listen");
  config.http.admin_token = http.str("admin_token");
  config.http.ready_max_lag = http.duration("ready_max_lag");
  // Admin calls from any host without a token would hand the daemon to the network.
  if (!config.http.listen.empty() && config.http.admin_token.empty()) {
    const auto listen = http::split_listen(config.http.listen);
    if (listen && !http::is_loopback_host(listen->host)) {
      http.error("listen", "listening on " + listen->host + " (not loopback) needs [http] admin_token or admin_token_file");
    }
  }

  Section control = single_section(options, diagnostics, document, "control");
  config.control = load_control(control);

  Section database = single_section(options, diagnostics, document, "database");
  config.database_url = database.str("url");
  check_postgres_url(database, "url");
  config.synchronous_commit = database.str("synchronous_commit");
  config.pooling = database.choice<postgres::Pooling>("pooling");
  config.listen_url = database.str("listen_url");
  check_pooling(database, control, config);

  std::set<std::string, std::less<>> source_names;
  for (const Named& named : group(document, "sources")) {
    Section section(options, diagnostics, "sources.*", "sources." + named.name, named.table, named.line);
    source_names.insert(named.name);
    if (section.str("kind") == "redis") {
      RedisSource source = load_redis_source(section);
      source.name = named.name;
      config.redis_sources.emplace(named.name, std::move(source));
    } else {
      PostgresSource source = load_postgres_source(section, config.database_url);
      source.name = named.name;
      config.postgres_sources.emplace(named.name, std::move(source));
    }
  }

  // Two handlers appending to one table would each see the other's rows as their own; two keeping one tracking
  // row would each start from the other's place.
  std::map<std::string, std::string> table_writers;
  std::map<std::pair<std::string, std::string>, std::string> tracking_writers;
  for (const Named& named : group(document, "handlers")) {
    Section section(options, diagnostics, "handlers.*", "handlers." + named.name, named.table, named.line);
    Handler handler = load_handler(section, options, source_names);
    handler.name = named.name;
    if (!handler.table.empty()) {
      const auto [writer, added] = table_writers.emplace(handler.table, named.name);
      if (!added) section.error("table", handler.table + " is also the table of handlers." + writer->second);
    }
    if (!handler.tracking_table.empty()) {
      const auto [writer, added] =
          tracking_writers.emplace(std::pair{handler.tracking_table, handler.tracking_application}, named.name);
      if (!added) {
        section.error("tracking_application", handler.tracking_application + " in " + handler.tracking_table +
                                                  " is also tracked by handlers." + writer->second);
      }
      // The tracking row holds the source's position as pyeventsourcing's notification id: a table's position.
      if (!handler.source.empty() && !config.postgres_sources.contains(handler.source)) {
        section.error("tracking_table", "needs a postgres source (the tracking row holds its position)");
      }
    }
    if (handler.partitions > 1) check_partitioned(section, handler, config);
    if (handler.start_at_head && !handler.source.empty() && !config.postgres_sources.contains(handler.source)) {
      section.error("start", "head is for postgres sources; a redis source's own start says where its group begins");
    }
    config.handlers.emplace(named.name, std::move(handler));
  }
  for (const std::string& name : config.daemon.handlers) {
    if (!config.handlers.contains(name)) daemon.error("handlers", name + " is not a handler of this file");
  }
  config.max_connections = static_cast<std::size_t>(database.integer("max_connections"));
  if (const std::size_t least = least_max_connections(config); config.max_connections < least) {
    database.error("max_connections",
                   "at least " + std::to_string(least) + " here: " + std::to_string(kept_connections(config)) +
                       " kept open (the lease keeper's and the LISTENs), a lane's two and one for its attempts");
  }
}

}  // namespace

LoadResult load_config(const std::string& path, const OptionTable& options) {
  auto text = read_text_file(path);
  if (!text) return {.config = {}, .errors = {path + ": cannot read: " + text.error()}};
  return load_config_text(*text, path, options);
}

LoadResult load_config_text(const std::string& text, const std::string& path, const OptionTable& options) {
  LoadResult result;
  result.config.file = path;
  Diagnostics diagnostics(path, std::filesystem::path(path).parent_path());
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(path));
  } catch (const toml::parse_error& error) {
    diagnostics.add(error.source().begin.line, "", "syntax error: " + std::string(error.description()));
  }
  if (diagnostics.empty()) load_document(root, options, diagnostics, result.config);
  result.errors = diagnostics.take();
  return result;
}

}  // namespace projectord::config
