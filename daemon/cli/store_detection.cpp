#include "daemon/cli/store_detection.hpp"

#include <algorithm>
#include <exception>
#include <pqxx/result>
#include <pqxx/transaction>

#include "base/postgres/identifier.hpp"
#include "base/printable.hpp"
#include "config/presets.hpp"
#include "sources/payload_codec.hpp"

namespace projectord::cli {
namespace {

using postgres::quote_identifier;

struct ColumnShape {
  std::string_view name;
  std::vector<std::string_view> types;  ///< pg_type.typname of each type the library's versions give it
};

struct StoreShape {
  std::string_view preset;
  std::vector<ColumnShape> columns;
};

const std::vector<std::string_view> kInteger{"int2", "int4", "int8"};
const std::vector<std::string_view> kText{"text", "varchar"};
const std::vector<std::string_view> kId{"int2", "int4", "int8", "uuid", "text", "varchar"};

// The columns each library creates, with the types of every version projectord reads. The position column
// is listed wherever the store has one: a table without it is not that store (pyeventsourcing's snapshots).
// Eventuali's global_position is the exception, added by `projectord migrate --add-position`.
const std::vector<StoreShape> kShapes{
    {"eventsourcing",
     {{"notification_id", kInteger},
      {"originator_id", {"uuid", "text", "varchar"}},
      {"originator_version", kInteger},
      {"topic", kText},
      {"state", {"bytea"}}}},
    {"eventsourcing_django",
     {{"id", kInteger},
      {"application_name", kText},
      {"originator_id", {"uuid", "text", "varchar"}},
      {"originator_version", kInteger},
      {"topic", kText},
      {"state", {"bytea"}}}},
    {"django_event_store",
     {{"id", kInteger},
      {"aggregate_id", kId},
      {"event_id", {"uuid", "text", "varchar"}},
      {"event_type", kText},
      {"event_data", {"jsonb", "json"}},
      {"version", kInteger},
      {"occurred_at", {"timestamptz"}}}},
    {"djangoevents",
     {{"id", kInteger},
      {"event_id", kText},
      {"event_type", kText},
      {"event_data", kText},
      {"aggregate_id", kText},
      {"aggregate_type", kText},
      {"aggregate_version", kInteger},
      {"create_date", {"timestamptz"}},
      {"metadata", kText},
      {"_stored_entity_id", kText}}},
    {"eventuali",
     {{"id", {"uuid"}},
      {"aggregate_id", kText},
      {"aggregate_type", kText},
      {"event_type", kText},
      {"aggregate_version", kInteger},
      {"event_data", {"jsonb"}},
      {"event_data_type", kText},
      {"metadata", {"jsonb"}},
      {"timestamp", {"timestamptz"}}}},
};

// Newest payloads sampled per store: enough to see a codec change, few enough to read at once.
constexpr int kSamples = 8;

// Schemas that hold no application's tables; PostgreSQL's pg_* ones (pg_toast, pg_temp_N) are left out by
// prefix.
constexpr const char* kSystemSchemas = "{information_schema,projectord}";

std::string_view preset_column(std::string_view preset, std::string_view key) {
  for (const auto& [name, value] : config::find_preset(preset)->defaults) {
    if (name == key) return value;
  }
  return {};
}

std::vector<TableColumns> catalog_tables(pqxx::transaction_base& txn) {
  const pqxx::result rows = txn.exec_params(
      "SELECT n.nspname, c.relname, a.attname, t.typname,"
      " EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.contype = 'f' AND k.confrelid = c.oid)"
      " FROM pg_catalog.pg_class c"
      " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
      " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
      " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
      " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
      " AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> ALL ($1::text[])"
      " ORDER BY n.nspname, c.relname, a.attnum",
      kSystemSchemas);
  std::vector<TableColumns> tables;
  for (const pqxx::row& row : rows) {
    const std::string schema = row[0].c_str();
    const std::string name = row[1].c_str();
    if (tables.empty() || tables.back().schema != schema || tables.back().name != name) {
      tables.push_back({schema, name, {}, row[4].as<bool>()});
    }
    tables.back().types.emplace(row[2].c_str(), row[3].c_str());
  }
  return tables;
}

std::vector<std::string> sample_payloads(pqxx::transaction_base& txn, const TableColumns& table,
                                         std::string_view preset, const std::string& qualified,
                                         const std::string& application_name) {
  const std::string payload(preset_column(preset, "payload_column"));
  const std::string position(preset_column(preset, "position_column"));
  std::string sql = "SELECT " + quote_identifier(payload) + " FROM " + quote_identifier(qualified);
  if (!application_name.empty()) sql += " WHERE " + quote_identifier("application_name") + " = $1";
  if (table.types.contains(position)) sql += " ORDER BY " + quote_identifier(position) + " DESC";
  sql += " LIMIT " + std::to_string(kSamples);
  const pqxx::result rows = application_name.empty() ? txn.exec(sql) : txn.exec_params(sql, application_name);
  const bool bytea = table.types.find(payload)->second == "bytea";
  std::vector<std::string> samples;
  for (const pqxx::row& row : rows) {
    if (row[0].is_null()) continue;
    if (!bytea) {
      samples.emplace_back(row[0].c_str());
    } else if (auto bytes = sources::unescape_bytea(row[0].c_str())) {
      samples.push_back(std::move(*bytes));
    }
  }
  return samples;
}

std::vector<std::string> application_names(pqxx::transaction_base& txn, const std::string& qualified) {
  const std::string column = quote_identifier("application_name");
  std::vector<std::string> names;
  for (const pqxx::row& row :
       txn.exec("SELECT DISTINCT " + column + " FROM " + quote_identifier(qualified) + " ORDER BY 1")) {
    if (!row[0].is_null()) names.emplace_back(row[0].c_str());
  }
  return names;
}

// Columns of a model whose rows change after they are written, which an event's do not.
const std::vector<std::string_view> kMutableRowColumns{"modified", "updated", "updated_at", "modified_at",
                                                        "last_modified", "changed"};

// The Django app a table belongs to by its name, `<app_label>_<model>`: app labels may hold underscores, a
// model's lowercased class name seldom does. Empty for a name Django would not give.
std::string_view django_app(const TableColumns& table) {
  const std::size_t underscore = table.name.rfind('_');
  if (underscore == 0 || underscore == std::string::npos || underscore + 1 == table.name.size()) return {};
  return std::string_view(table.name).substr(0, underscore);
}

bool looks_like_event_table(const TableColumns& table) {
  const auto type = [&](std::string_view column) {
    const auto found = table.types.find(column);
    return found == table.types.end() ? std::string_view() : std::string_view(found->second);
  };
  return !table.referenced && !django_app(table).empty() && std::ranges::find(kInteger, type("id")) != kInteger.end() &&
         type("created") == "timestamptz" &&
         std::ranges::none_of(kMutableRowColumns, [&](std::string_view column) { return table.types.contains(column); });
}

std::string config_name(const TableColumns& table) {
  return table.schema == "public" ? table.name : table.schema + "." + table.name;
}

// The `*_id` columns of a group's tables (Django's foreign keys and ids of other things: a stream's likely
// key), those in the most tables first.
std::vector<std::string> stream_id_candidates(const std::vector<const TableColumns*>& group) {
  std::map<std::string, std::size_t, std::less<>> tables_with;
  for (const TableColumns* table : group) {
    for (const auto& [column, type] : table->types) {
      if (column.size() > 3 && column.ends_with("_id")) ++tables_with[column];
    }
  }
  std::vector<std::string> columns;
  for (const auto& [column, count] : tables_with) columns.push_back(column);
  std::ranges::stable_sort(columns, std::ranges::greater{}, [&](const std::string& c) { return tables_with[c]; });
  return columns;
}

DetectedStore event_tables_store(const std::vector<const TableColumns*>& group, std::string_view position) {
  DetectedStore store{.preset = "django_event_tables", .table = {}};
  for (const TableColumns* table : group) {
    store.tables.push_back(config_name(*table));
    store.lacks_position = store.lacks_position || !table->types.contains(position);
  }
  store.stream_id_candidates = stream_id_candidates(group);
  return store;
}

}  // namespace

std::vector<std::vector<const TableColumns*>> event_table_groups(const std::vector<TableColumns>& tables,
                                                                 std::string_view position) {
  std::map<std::pair<std::string, std::string>, std::vector<const TableColumns*>> by_app;
  for (const TableColumns& table : tables) {
    if (looks_like_event_table(table)) by_app[{table.schema, std::string(django_app(table))}].push_back(&table);
  }
  std::vector<std::vector<const TableColumns*>> groups;
  for (auto& [app, group] : by_app) {
    const bool numbered =
        std::ranges::all_of(group, [&](const TableColumns* table) { return table->types.contains(position); });
    if (group.size() >= 2 || numbered) groups.push_back(std::move(group));
  }
  return groups;
}

std::string_view recognise(const TableColumns& table) {
  const auto has = [&](const ColumnShape& column) {
    const auto found = table.types.find(column.name);
    return found != table.types.end() && std::ranges::find(column.types, found->second) != column.types.end();
  };
  for (const StoreShape& shape : kShapes) {
    if (std::ranges::all_of(shape.columns, has)) return shape.preset;
  }
  return {};
}

Result<Detection> detect_stores(pqxx::connection& connection, const config::CipherKey& key) {
  try {
    pqxx::read_transaction txn(connection);
    Detection detection;
    const std::vector<TableColumns> tables = catalog_tables(txn);
    std::vector<TableColumns> unrecognised;
    for (const TableColumns& table : tables) {
      const std::string_view preset = recognise(table);
      if (preset.empty()) {
        unrecognised.push_back(table);
        continue;
      }
      const std::string qualified = config_name(table);
      if (const std::string problem = postgres::identifier_problem(qualified, true); !problem.empty()) {
        detection.skipped.push_back(std::string(preset) + " table " + printable(table.schema + "." + table.name) +
                                    ": " + problem);
        continue;
      }
      const bool transcoded = table.types.contains("state");
      const auto store = [&](const std::string& application_name) {
        return DetectedStore{
            .preset = std::string(preset),
            .table = qualified,
            .application_name = application_name,
            .codec = guess_codec(sample_payloads(txn, table, preset, qualified, application_name), transcoded, key),
            .lacks_position = !table.types.contains(preset_column(preset, "position_column")),
            .unlocked_writers = preset == "eventsourcing" && table.types.find("notification_id")->second == "int4"};
      };
      if (preset != "eventsourcing_django") {
        detection.stores.push_back(store(""));
        continue;
      }
      const std::vector<std::string> applications = application_names(txn, qualified);
      if (applications.empty()) detection.stores.push_back(store(""));
      for (const std::string& application : applications) detection.stores.push_back(store(application));
    }
    const std::string_view position = preset_column("django_event_tables", "position_column");
    for (const auto& group : event_table_groups(unrecognised, position)) {
      std::vector<const TableColumns*> nameable;
      for (const TableColumns* table : group) {
        if (const std::string problem = postgres::identifier_problem(config_name(*table), true); !problem.empty()) {
          detection.skipped.push_back("django_event_tables table " + printable(table->schema + "." + table->name) +
                                      ": " + problem);
        } else {
          nameable.push_back(table);
        }
      }
      if (!nameable.empty()) detection.stores.push_back(event_tables_store(nameable, position));
    }
    return detection;
  } catch (const std::exception& error) {
    return fail(error.what());
  }
}

}  // namespace projectord::cli
