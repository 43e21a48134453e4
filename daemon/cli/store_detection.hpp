#pragma once
/// The event stores of a PostgreSQL database that projectord has a preset for, recognised by their tables'
/// columns and column types as the catalog lists them (every schema but PostgreSQL's own and `projectord`),
/// never by a table's name alone: pyeventsourcing's `{app}_events` (its `{app}_snapshots` lack
/// notification_id, its `{app}_tracking` tables a payload), eventsourcing_django's `stored_events` (one store
/// per application_name), a Django `EventStoreRecord` model (`<app>_eventstorerecord`), djangoevents'
/// `event_journal`, Eventuali's `events`, and a Django app with one model per event type (django_event_tables:
/// see `event_table_groups`). Other tables are left alone, whatever their shape. Each store
/// comes with a guess at its codec from its newest payloads (daemon/cli/payload_sniffing.hpp). Detection
/// only reads: one read-only transaction, catalog queries with bound parameters, identifiers quoted.
#include <functional>
#include <map>
#include <pqxx/connection>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "config/cipher_key.hpp"
#include "daemon/cli/payload_sniffing.hpp"

namespace projectord::cli {

/// One table as the catalog describes it.
struct TableColumns {
  std::string schema;
  std::string name;
  std::map<std::string, std::string, std::less<>> types;  ///< column -> pg_type.typname (int8, bytea, jsonb, ...)
  bool referenced = false;  ///< a foreign key of some table points at it
};

/// The name of the preset whose columns `table` has with the types its library gives them; empty for none.
std::string_view recognise(const TableColumns& table);

/// A Django app's event tables, one model per event type: in one schema, named `<app>_<model>`, each with
/// Django's integer `id` and the abstract event base's `created` timestamptz. A model is an event when nothing
/// references it and it has no column a changing row would have (`modified`, `updated`, `updated_at`, ...).
/// Before `projectord migrate --add-position` an app is one only with two such tables or more; once every
/// table has the `position` column, with one. In schema, app and table order; other tables are left out.
std::vector<std::vector<const TableColumns*>> event_table_groups(const std::vector<TableColumns>& tables,
                                                                 std::string_view position);

struct DetectedStore {
  std::string preset;
  std::string table;               ///< as a config names it: schema-qualified outside `public`; empty for:
  std::vector<std::string> tables{};  ///< django_event_tables: each event table, as a config names it
  std::vector<std::string> stream_id_candidates{};  ///< django_event_tables: `*_id` columns, most tables first
  std::string application_name{};  ///< eventsourcing_django: the application whose rows these are; else empty
  CodecGuess codec{};
  bool lacks_position = false;  ///< Eventuali's `events` or event tables before `migrate --add-position`
  /// pyeventsourcing 9.0's int4 notification_id: its writers take no table lock, so positions commit out of order.
  bool unlocked_writers = false;
};

struct Detection {
  std::vector<DetectedStore> stores;  ///< in schema, table (and application) order; event tables last
  std::vector<std::string> skipped;   ///< store tables projectord cannot name in a config, and why
};

/// The stores in the database `connection` is open on; `key` (may be empty) is tried on encrypted payloads.
/// Fails with the server's message when a query does.
Result<Detection> detect_stores(pqxx::connection& connection, const config::CipherKey& key);

}  // namespace projectord::cli
