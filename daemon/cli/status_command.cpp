#include "daemon/cli/status_command.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <iostream>
#include <optional>

#include "base/postgres/errors.hpp"
#include "daemon/cli/admin_client.hpp"
#include "daemon/cli/status_table.hpp"
#include "daemon/error_class.hpp"
#include "daemon/status_report.hpp"

namespace projectord::cli {
namespace {

namespace json = boost::json;

// ` error_class=CLASS`, and with `show_errors` also ` error="TEXT"`.
std::string error_fields(const std::string& text, bool show_errors) {
  std::string fields = " error_class=" + std::string(error_class(text));
  if (show_errors) fields += " error=\"" + postgres::one_line(text) + "\"";
  return fields;
}

std::string shown_error(const std::string& text, bool show_errors) {
  return show_errors ? postgres::one_line(text) : std::string(error_class(text));
}

std::string text_of(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_null()) return {};
  return json::serialize(value);
}

const json::value* member(const json::object& object, std::string_view key) { return object.if_contains(key); }

std::string text_field(const json::object& object, std::string_view key) {
  const json::value* value = member(object, key);
  return value ? text_of(*value) : std::string();
}

double number_field(const json::object& object, std::string_view key) {
  const json::value* value = member(object, key);
  if (value == nullptr) return 0;
  if (value->is_double()) return value->as_double();
  if (value->is_int64()) return static_cast<double>(value->as_int64());
  if (value->is_uint64()) return static_cast<double>(value->as_uint64());
  return 0;
}

// A row from an entry of the daemon's /status "handlers": a Redis-fed handler's positions as entry ids.
StatusRow daemon_row(const json::object& handler) {
  const bool stream = member(handler, "entry_id") != nullptr;
  const std::string state = text_field(handler, "state");
  return {.handler = text_field(handler, "name"),
          .source = text_field(handler, "source"),
          .state = state,
          .position = text_field(handler, stream ? "entry_id" : "position"),
          .head = text_field(handler, stream ? "head_entry_id" : "head"),
          .lag = text_field(handler, "lag_positions"),
          .lag_time = lag_time_text(number_field(handler, "lag_seconds")),
          .dead_letters = text_field(handler, "dead_letters"),
          .reason = state == "idle" ? std::string() : text_field(handler, "reason")};
}

StatusRow database_row(const HandlerReading& reading, bool show_errors) {
  StatusRow row{.handler = reading.name,
                .source = reading.source,
                .state = reading.checkpoint ? "-" : "never_started",
                .position = reading.position.empty() ? "-" : reading.position,
                .head = reading.head.empty() ? "-" : reading.head,
                .lag = reading.lag ? std::to_string(*reading.lag) : "-",
                .lag_time = "-",
                .dead_letters = reading.checkpoint ? std::to_string(reading.checkpoint->dead_letters) : "0",
                .reason = {}};
  if (!reading.error.empty()) row.reason = "cannot read: " + shown_error(reading.error, show_errors);
  return row;
}

std::string process_text(const std::string& host, std::int64_t pid) { return host + ":" + std::to_string(pid); }

// Which process runs the handler, since when, and which stand by.
std::string ownership(const HandlerReading& reading) {
  if (!reading.lease) return {};
  const checkpoints::LeaseHolder& lease = *reading.lease;
  std::string out = reading.name + ": ";
  if (lease.expired) {
    out += "no process runs it: the lease of " + process_text(lease.host, lease.pid) + " ended at " +
           lease.expires_at + "\n";
  } else {
    out += "run by " + process_text(lease.host, lease.pid) + " since " + lease.since + " (lease epoch " +
           std::to_string(lease.epoch) + ")\n";
  }
  for (const auto& standby : reading.standbys) {
    out += "  standby " + process_text(standby.host, standby.pid) + " since " + standby.since + "\n";
  }
  return out;
}

json::value ownership_json(const HandlerReading& reading) {
  if (!reading.lease) return nullptr;
  const checkpoints::LeaseHolder& lease = *reading.lease;
  json::array standbys;
  for (const auto& standby : reading.standbys) {
    standbys.push_back({{"host", standby.host}, {"pid", standby.pid}, {"since", standby.since}});
  }
  return json::object{{"host", lease.host},
                      {"pid", lease.pid},
                      {"epoch", lease.epoch},
                      {"since", lease.since},
                      {"expires_at", lease.expires_at},
                      {"expired", lease.expired},
                      {"standbys", std::move(standbys)}};
}

// Under the table: what a handler's row has no room for.
std::string details(const HandlerReading& reading, bool show_errors) {
  std::string out;
  if (!reading.error.empty()) out += reading.name + ": cannot read" + error_fields(reading.error, show_errors) + "\n";
  out += ownership(reading);
  if (reading.rebuild) {
    out += reading.name + ": rebuild in progress at position " + std::to_string(reading.rebuild->position) +
           ", requested by " + reading.rebuild->requested_by + " at " + reading.rebuild->started_at + "\n";
  }
  if (reading.dead_letters.empty()) return out;
  out += reading.name + ": dead letters\n";
  for (const auto& letter : reading.dead_letters) {
    out += "  dead_letter id=" + std::to_string(letter.id) + " position=" + std::to_string(letter.position) +
           " type=" + letter.type + " attempts=" + std::to_string(letter.attempts) + " at=\"" + letter.created_at +
           "\"" + error_fields(letter.error, show_errors) + "\n";
  }
  if (reading.more_dead_letters) out += "  (more dead letters: SELECT * FROM projectord.dead_letters)\n";
  return out;
}

// `status --json` with no daemon answering: /status's field names, those only the daemon knows null.
json::object database_json(const StatusReading& reading, const std::string& no_daemon, bool show_errors) {
  json::array handlers;
  for (const HandlerReading& handler : reading.handlers) {
    const auto& checkpoint = handler.checkpoint;
    json::object entry{{"name", handler.name},
                       {"kind", handler.kind},
                       {"source", handler.source},
                       {"state", checkpoint ? json::value(nullptr) : json::value("never_started")},
                       {"reason", nullptr},
                       {"position", checkpoint ? checkpoint->position : 0},
                       {"lag_positions", handler.lag ? json::value(*handler.lag) : json::value(nullptr)},
                       {"lag_seconds", nullptr},
                       {"events_applied", checkpoint ? checkpoint->events_applied : 0},
                       {"dead_letters", checkpoint ? checkpoint->dead_letters : 0},
                       {"updated_at", checkpoint ? json::value(checkpoint->updated_at) : json::value(nullptr)}};
    if (handler.lag) {
      entry["head"] = handler.head.empty() ? json::value(nullptr) : json::value(std::stoll(handler.head));
    } else {
      entry["head"] = nullptr;
      entry["entry_id"] = handler.position;
      entry["head_entry_id"] = handler.head;
    }
    const std::string_view named = error_class(handler.error);
    entry["error_class"] = named.empty() ? json::value(nullptr) : json::value(named);
    if (show_errors) entry["last_error"] = handler.error;
    entry["lease"] = ownership_json(handler);
    if (handler.rebuild) {
      entry["rebuild"] = {{"position", handler.rebuild->position},
                          {"requested_by", handler.rebuild->requested_by},
                          {"started_at", handler.rebuild->started_at}};
    } else {
      entry["rebuild"] = nullptr;
    }
    handlers.push_back(std::move(entry));
  }
  json::object out{{"daemon", no_daemon}, {"handlers", std::move(handlers)}};
  if (!reading.unreachable.empty()) {
    out["database_error_class"] = error_class(reading.unreachable);
    if (show_errors) out["database_error"] = reading.unreachable;
  }
  return out;
}

// The daemon's /status as JSON, or why there is none.
struct DaemonAnswer {
  std::string body;
  std::optional<json::object> parsed;
  std::string missing;  ///< why no daemon answered
};

DaemonAnswer ask_daemon(const config::Config& config, const StatusOptions& options) {
  DaemonAnswer answer;
  if (options.endpoint.empty() && config.http.listen.empty()) {
    answer.missing = "no [http] listen in " + config.file + " to ask a running daemon";
    return answer;
  }
  const Result<std::string> body = daemon_status(config, options.endpoint, options.show_errors);
  if (!body) {
    answer.missing = body.error();
    return answer;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(*body, ec);
  if (ec || !parsed.is_object() || !parsed.as_object().contains("handlers")) {
    answer.missing = "the daemon's /status is not the JSON expected";
    return answer;
  }
  answer.body = *body;
  answer.parsed = std::move(parsed.as_object());
  return answer;
}

}  // namespace

int command_status(const config::Config& config, const StatusOptions& options) {
  const DaemonAnswer daemon = ask_daemon(config, options);
  if (!options.endpoint.empty() && !daemon.parsed) {
    std::cerr << "projectord: " << daemon.missing << "\n";
    return 1;
  }
  if (options.json && daemon.parsed) {
    std::cout << daemon.body;
    return 0;
  }
  const StatusReading reading = read_status(config);
  const bool all_read = reading.unreachable.empty() &&
                        std::ranges::all_of(reading.handlers, [](const HandlerReading& h) { return h.error.empty(); });
  if (options.json) {
    std::cout << json::serialize(database_json(reading, daemon.missing, options.show_errors)) << "\n";
    return all_read ? 0 : 1;
  }

  std::vector<StatusRow> rows;
  if (daemon.parsed) {
    for (const json::value& handler : daemon.parsed->at("handlers").as_array()) {
      if (handler.is_object()) rows.push_back(daemon_row(handler.as_object()));
    }
  } else {
    for (const HandlerReading& handler : reading.handlers) rows.push_back(database_row(handler, options.show_errors));
  }
  if (!rows.empty()) std::cout << status_table(rows);
  if (!daemon.parsed && !rows.empty()) {
    std::cout << "(state and lag time are the running daemon's to tell: " << daemon.missing << ")\n";
  }
  if (!reading.unreachable.empty()) {
    std::cout << "database=unreachable" << error_fields(reading.unreachable, options.show_errors) << "\n";
  }
  std::string below;
  for (const HandlerReading& handler : reading.handlers) below += details(handler, options.show_errors);
  if (!below.empty()) std::cout << (rows.empty() ? "" : "\n") << below;
  return all_read ? 0 : 1;
}

}  // namespace projectord::cli
