#include "daemon/cli/detected_config.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

namespace projectord::cli {
namespace {

using config::Codec;

// The loader takes names of at most 48 characters; 40 leaves room for a handler's "_users" and for
// "user_projection_" + name within PostgreSQL's 63-byte identifiers.
constexpr std::size_t kMaxSourceName = 40;

// A TOML basic string: application names are free text (quotes, control characters).
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04X", static_cast<unsigned>(byte));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string_view describe(std::string_view preset) {
  if (preset == "eventsourcing") return "pyeventsourcing's PostgreSQL application recorder";
  if (preset == "eventsourcing_django") return "eventsourcing_django's table shared by a project's applications";
  if (preset == "django_event_store") return "a Django EventStoreRecord model";
  if (preset == "djangoevents") return "djangoevents' event journal";
  if (preset == "django_event_tables") return "a Django app with one model, so one table, per event type";
  return "Eventuali's PostgreSQL store";
}

// What a source is called before it is made a valid, unique name: the application, or the table without
// the suffix its library adds to an application's name (worlds_events -> worlds, shop_eventstorerecord ->
// shop; an app's event tables -> the app), schema first outside public.
std::string natural_name(const DetectedStore& store) {
  if (!store.application_name.empty()) return store.application_name;
  if (!store.tables.empty()) return store.tables.front().substr(0, store.tables.front().rfind('_'));
  std::string name = store.table;
  const std::string_view suffix = store.preset == "eventsourcing"        ? "_events"
                                  : store.preset == "django_event_store" ? "_eventstorerecord"
                                                                         : "";
  if (!suffix.empty() && name.size() > suffix.size() && name.ends_with(suffix)) {
    name.resize(name.size() - suffix.size());
  }
  return name;
}

std::string valid_name(std::string_view text) {
  std::string name;
  for (const char c : text) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9')) {
      name += lower;
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
  }
  if (name.empty() || name.front() < 'a' || name.front() > 'z') name = "store_" + name;
  name.resize(std::min(name.size(), kMaxSourceName));
  while (name.back() == '_') name.pop_back();
  return name;
}

std::string unique_name(std::string name, std::set<std::string>& taken) {
  for (int n = 2; taken.contains(name); ++n) {
    const std::string suffix = "_" + std::to_string(n);
    name = name.substr(0, std::min(name.size(), kMaxSourceName - suffix.size())) + suffix;
  }
  taken.insert(name);
  return name;
}

void comment_lines(std::ostream& out, const std::vector<std::string>& lines) {
  for (const std::string& line : lines) out << "# " << line << "\n";
}

void print_handlers(std::ostream& out, const std::string& source, bool several_sources) {
  const std::string suffix = several_sources ? "_" + source : "";
  out << "# The Django guide's user_projection, fed by UserRegistered, UserEmailChanged, UserProfileUpdated and\n"
         "# UserDeactivated; uncomment to project it.\n"
      << "# [handlers." << source << "_users]\n# kind = \"users\"\n# source = \"" << source << "\"\n"
      << "# table = \"user_projection" << suffix << "\"\n\n"
      << "# The Django guide's user_event_log: one row per event, of any type.\n"
      << "# [handlers." << source << "_log]\n# kind = \"event_log\"\n# source = \"" << source << "\"\n"
      << "# table = \"user_event_log" << suffix << "\"\n\n";
}

void print_missing_position(std::ostream& out, const DetectedStore& store, const std::string& name) {
  out << "# It has no global position yet: before the daemon tails it, run\n"
      << "#   projectord --config THIS_FILE migrate --add-position " << name << "\n"
      << (store.tables.empty() ? "# (docs/operations.md, \"A global position for Eventuali's `events`\").\n"
                               : "# (docs/config.md, \"One table per event type\").\n");
}

// The tables are events by their shape alone, so the team confirms the list; their types and streams are
// not in the catalog.
void print_event_tables(std::ostream& out, const DetectedStore& store) {
  out << "tables = [";
  for (std::size_t i = 0; i < store.tables.size(); ++i) out << (i > 0 ? ", " : "") << toml_string(store.tables[i]);
  out << "]\n# Recognised by shape (Django's id, a `created` timestamp, no foreign key to them, no column a\n"
         "# changing row has): keep in `tables` only the models that are events. An event's type is its table's\n"
         "# name unless type_names gives the model's class name:\n"
      << "# type_names = { " << store.tables.front() << " = \"ModelClassName\" }\n";
  if (!store.stream_id_candidates.empty()) {
    out << "# The stream (aggregate) an event belongs to, if any; the tables' *_id columns:";
    for (const std::string& column : store.stream_id_candidates) out << " " << column;
    out << "\n# stream_id_column = " << toml_string(store.stream_id_candidates.front()) << "\n";
  }
}

void print_source(std::ostream& out, const DetectedStore& store, const std::string& name) {
  out << "# " << describe(store.preset) << ": " << (store.tables.empty() ? store.table : "app " + natural_name(store));
  if (!store.application_name.empty()) out << ", rows of application " << toml_string(store.application_name);
  out << ".\n";
  if (store.lacks_position) print_missing_position(out, store, name);
  out << "[sources." << name << "]\npreset = \"" << store.preset << "\"\n";
  if (!store.tables.empty()) {
    print_event_tables(out, store);
    out << "\n";
    return;
  }
  out << "table = \"" << store.table << "\"\n";
  if (!store.application_name.empty()) out << "application_name = " << toml_string(store.application_name) << "\n";
  comment_lines(out, store.codec.notes);
  out << "codec = \"" << config::codec_name(store.codec.codec) << "\"\n";
  if (store.unlocked_writers) {
    out << "# notification_id is an int4 serial: pyeventsourcing 9.0, whose writers take no table lock.\n"
        << "commit_order = \"concurrent\"\n";
  } else if (store.preset == "eventsourcing") {
    out << "# With POSTGRES_ENABLE_DB_FUNCTIONS the application's writers take no table lock: then set\n"
        << "# commit_order = \"concurrent\".\n";
  }
  if (config::is_encrypted(store.codec.codec)) {
    out << "# The application's CIPHER_KEY (base64), read from the environment: never write the key here.\n"
        << "cipher_key_env = \"CIPHER_KEY\"\n";
  }
  out << "\n";
}

// eventsourcing_django's table with no rows names no application: the team names the one to read.
void print_unnamed_application(std::ostream& out, const DetectedStore& store, const std::string& name) {
  out << "# " << describe(store.preset) << ": " << store.table << ", with no events yet to name an application\n"
      << "# by; set application_name to the Application's name (at most 32 characters) and uncomment.\n"
      << "# [sources." << name << "]\n# preset = \"" << store.preset << "\"\n# table = \"" << store.table << "\"\n"
      << "# application_name = \"MyApplication\"\n# codec = \"" << config::codec_name(store.codec.codec) << "\"\n\n";
}

}  // namespace

std::string detected_config(const Detection& detection) {
  std::ostringstream out;
  out << "# projectord config for the event stores `projectord detect` found. The database URL is not written\n"
         "# here: export DATABASE_URL with the URL given to detect (or set url_file). Then run\n"
         "#   projectord --config THIS_FILE check-config\n"
         "#   projectord --config THIS_FILE migrate\n"
         "#   projectord --config THIS_FILE run\n"
         "# having uncommented the handlers to run (docs/config.md lists every key).\n";
  if (!detection.skipped.empty()) {
    out << "#\n# Left out:\n";
    for (const std::string& skipped : detection.skipped) out << "#   " << skipped << "\n";
  }
  out << "\n[database]\n# Read models, checkpoints and dead letters go to the database the events are in.\n"
         "url = \"${DATABASE_URL}\"\n\n";
  std::set<std::string> taken;
  std::size_t named = 0;
  for (const DetectedStore& store : detection.stores) {
    named += store.preset != "eventsourcing_django" || !store.application_name.empty();
  }
  for (const DetectedStore& store : detection.stores) {
    const std::string name = unique_name(valid_name(natural_name(store)), taken);
    if (store.preset == "eventsourcing_django" && store.application_name.empty()) {
      print_unnamed_application(out, store, name);
      continue;
    }
    print_source(out, store, name);
    print_handlers(out, name, named > 1);
  }
  return out.str();
}

}  // namespace projectord::cli
