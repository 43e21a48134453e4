#include "config/presets.hpp"

#include "base/postgres/identifier.hpp"

#include <algorithm>
#include <set>

namespace projectord::config {
namespace {

// pyeventsourcing and eventsourcing_django serialise writers with LOCK TABLE ... IN EXCLUSIVE MODE, so their
// positions commit in order (users of POSTGRES_ENABLE_DB_FUNCTIONS or 9.0.x must set commit_order =
// "concurrent"). Neither has a time column: the events carry their own `timestamp`. Their schema version is
// the state's `class_version`, which pyeventsourcing writes only above 1.
const std::vector<Preset> kPresets{
    {.name = "eventsourcing",
     .defaults = {{"table", "stored_events"},
                  {"position_column", "notification_id"},
                  {"stream_id_column", "originator_id"},
                  {"version_column", "originator_version"},
                  {"type_column", "topic"},
                  {"payload_column", "state"},
                  {"recorded_at_path", "data.timestamp"},
                  {"event_version_path", "data.class_version"},
                  {"codec", "eventsourcing_json"},
                  {"commit_order", "serialized"}}},
    {.name = "eventsourcing_django",
     .defaults = {{"table", "stored_events"},
                  {"position_column", "id"},
                  {"stream_id_column", "originator_id"},
                  {"version_column", "originator_version"},
                  {"type_column", "topic"},
                  {"payload_column", "state"},
                  {"filter_column", "application_name"},
                  {"recorded_at_path", "data.timestamp"},
                  {"event_version_path", "data.class_version"},
                  {"codec", "eventsourcing_json"},
                  {"commit_order", "serialized"}},
     // One table shared by every application of the Django project.
     .required = {"application_name"}},
    // A Django `EventStoreRecord` model (<app>_eventstorerecord): plain ORM inserts, so ids commit out of order.
    {.name = "django_event_store",
     .defaults = {{"position_column", "id"},
                  {"stream_id_column", "aggregate_id"},
                  {"version_column", "version"},
                  {"type_column", "event_type"},
                  {"payload_column", "event_data"},
                  {"recorded_at_column", "occurred_at"},
                  {"codec", "json"},
                  {"commit_order", "concurrent"}},
     // Django names the table after the app label: <app>_eventstorerecord.
     .required = {"table"}},
    // djangoevents' `event_journal`: plain ORM inserts (no lock), an int4 serial id, text JSON with sorted keys,
    // metadata as text JSON (often `null`). `event_version` is the event class's schema version, not the
    // aggregate's: the stream version is `aggregate_version`.
    {.name = "djangoevents",
     .defaults = {{"table", "event_journal"},
                  {"position_column", "id"},
                  {"stream_id_column", "aggregate_id"},
                  {"version_column", "aggregate_version"},
                  {"type_column", "event_type"},
                  {"payload_column", "event_data"},
                  {"metadata_column", "metadata"},
                  {"recorded_at_column", "create_date"},
                  {"event_version_column", "event_version"},
                  {"codec", "json"},
                  {"commit_order", "concurrent"}}},
    // Eventuali's `events` has no global position (its id is a UUID): `projectord migrate --add-position`
    // adds `global_position` as an identity column. Writers take no lock. `event_data_type` says how
    // event_data is encoded: only `json` rows are decoded.
    {.name = "eventuali",
     .defaults = {{"table", "events"},
                  {"position_column", "global_position"},
                  {"stream_id_column", "aggregate_id"},
                  {"version_column", "aggregate_version"},
                  {"type_column", "event_type"},
                  {"payload_column", "event_data"},
                  {"metadata_column", "metadata"},
                  {"recorded_at_column", "timestamp"},
                  {"payload_format_column", "event_data_type"},
                  {"event_version_column", "event_version"},
                  {"codec", "json"},
                  {"commit_order", "concurrent"}}},
    // A Django app with one model, so one table, per event type (an abstract `Event` base with `created =
    // DateTimeField(auto_now_add=True)`), written by plain ORM saves. No table has a global position:
    // `projectord migrate --add-position` adds one column to each, drawn from one sequence they share. A row's
    // type is its table's, its payload the whole row.
    {.name = kEventTablesPreset,
     .defaults = {{"position_column", "projectord_position"},
                  {"recorded_at_column", "created"},
                  {"codec", "json"},
                  {"commit_order", "concurrent"}},
     .required = {"tables"}},
    {.name = "generic",
     .defaults = {{"codec", "json"}, {"commit_order", "concurrent"}},
     .required = {"table", "position_column", "type_column", "payload_column"}},
};

}  // namespace

const Preset* find_preset(std::string_view name) {
  const auto it = std::ranges::find(kPresets, name, &Preset::name);
  return it == kPresets.end() ? nullptr : &*it;
}

std::string default_notify_channel(std::string_view table) {
  std::string channel = "projectord_" + std::string(table);
  std::ranges::replace(channel, '.', '_');
  // A notification is only a wake-up, so two long tables sharing a cut name cost a few extra reads, while an
  // uncut name longer than PostgreSQL's limit would be refused by pg_notify.
  channel.resize(std::min(channel.size(), postgres::kMaxIdentifierBytes));
  return channel;
}

std::vector<MappingProblem> check_mapping(const PostgresSource& source) {
  struct Name {
    std::string_view key;
    const std::string& value;
    bool required;
    bool allow_schema;
  };
  const bool one_table = source.preset != kEventTablesPreset;
  const Name names[] = {
      {"table", source.table, one_table, true},
      {"position_column", source.position_column, true, false},
      {"stream_id_column", source.stream_id_column, false, false},
      {"version_column", source.version_column, false, false},
      {"type_column", source.type_column, one_table, false},
      {"payload_column", source.payload_column, one_table, false},
      {"metadata_column", source.metadata_column, false, false},
      {"payload_format_column", source.payload_format_column, false, false},
      {"recorded_at_column", source.recorded_at_column, false, false},
      {"event_version_column", source.event_version_column, false, false},
      {"filter_column", source.filter_column, false, false},
      {"notify_channel", source.notify_channel, false, false},
  };
  std::vector<MappingProblem> problems;
  for (const Name& name : names) {
    if (name.value.empty()) {
      if (name.required) problems.push_back({name.key, "must not be empty"});
    } else if (std::string problem = postgres::identifier_problem(name.value, name.allow_schema); !problem.empty()) {
      problems.push_back({name.key, std::move(problem)});
    }
  }
  if (one_table) return problems;
  std::set<std::string_view> seen;
  for (const std::string& table : source.tables) {
    if (std::string problem = postgres::identifier_problem(table, true); !problem.empty()) {
      problems.push_back({"tables", std::move(problem)});
    } else if (!seen.insert(table).second) {
      problems.push_back({"tables", table + " is listed twice"});
    }
  }
  if (source.tables.empty()) problems.push_back({"tables", "must list at least one table"});
  for (const auto& [table, type] : source.type_names) {
    if (!seen.contains(table)) problems.push_back({"type_names", table + " is not one of tables"});
    if (type.empty()) problems.push_back({"type_names", table + ": the type must not be empty"});
  }
  return problems;
}

}  // namespace projectord::config
