#include "bench/catchup/store_matrix.hpp"

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <optional>
#include <pqxx/nontransaction>
#include <pqxx/stream_to>
#include <pqxx/transaction>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "bench/support/read_models.hpp"
#include "bench/support/store.hpp"
#include "examples/user_events.hpp"
#include "sources/payload_codec.hpp"
#include "tests/support/aescipher.hpp"
#include "tests/support/store_schemas.hpp"

namespace projectord::bench {

namespace {

namespace json = boost::json;
using config::Codec;
using Text = std::optional<std::string>;

// The application's AESCipher key (32 bytes: AES-256), the same in every run.
constexpr std::string_view kCipherKey = "bench-catchup AES-256-GCM key 32";
static_assert(kCipherKey.size() == 32);

// A Django app label: its EventStoreRecord table is <app>_eventstorerecord.
constexpr const char* kDjangoApp = "shop";
constexpr const char* kUserIdsTable = "bench_user_ids";

// The Django app with one model per event type: table, its columns after `created` and `user_id`, type name.
struct EventTable {
  const char* table;
  const char* type;
  std::vector<const char*> fields;
  const char* ddl_fields;
};
const std::array<EventTable, 4>& event_tables() {
  static const std::array<EventTable, 4> tables{{
      {"users_userregistered", "UserRegistered", {"username", "email", "first_name", "last_name"},
       "username varchar(150) NOT NULL, email varchar(254) NOT NULL, first_name varchar(30) NULL,"
       " last_name varchar(30) NULL"},
      {"users_useremailchanged", "UserEmailChanged", {"old_email", "new_email"},
       "old_email varchar(254) NOT NULL, new_email varchar(254) NOT NULL"},
      {"users_userprofileupdated", "UserProfileUpdated", {"first_name", "last_name", "phone"},
       "first_name varchar(30) NULL, last_name varchar(30) NULL, phone varchar(20) NULL"},
      {"users_userdeactivated", "UserDeactivated", {"reason", "deactivated_by"},
       "reason text NOT NULL, deactivated_by uuid NOT NULL"},
  }};
  return tables;
}

// One event as the libraries that store plain JSON have it: the transcoder's markers decoded (UUIDs and times
// as strings), the time in a column of its own rather than in the data.
struct PlainEvent {
  std::string user_id;
  std::int64_t version = 0;
  std::string type;  // the class name
  std::string at;    // ISO 8601
  json::object data;
};

PlainEvent plain(const examples::StoredEvent& event) {
  // The daemon's own decoder: what it reads from pyeventsourcing's stores is what the others store.
  auto decoded = sources::decode_payload(Codec::eventsourcing_json, event.state, event.state.size());
  if (!decoded || !decoded->is_object()) throw std::runtime_error("cannot decode a generated event's state");
  PlainEvent out{event.originator_id, event.originator_version, event.topic.substr(event.topic.rfind(':') + 1), {},
                 std::move(decoded->as_object())};
  out.at = std::string(out.data.at("timestamp").as_string());
  out.data.erase("timestamp");
  return out;
}

Text field(const json::object& data, std::string_view key) {
  const json::value* value = data.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return std::string(value->as_string());
}

// Python's json.dumps(data, sort_keys=True), as djangoevents writes event_data.
std::string sorted_keys_json(const json::object& data) {
  std::vector<std::string_view> keys;
  for (const auto& entry : data) keys.push_back(entry.key());
  std::ranges::sort(keys);
  std::string out = "{";
  for (const std::string_view key : keys) {
    if (out.size() > 1) out += ", ";
    out += json::serialize(json::string(key)) + ": " + json::serialize(data.at(key));
  }
  return out + "}";
}

// A UUID that names the k-th event, for the stores that give every event an id of its own.
std::string event_uuid(std::int64_t k) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(k) & 0xffff'ffff'ffffULL);
  return text.data();
}

std::string zlib_aes(const std::string& bytes, bool zlib, bool aes) {
  const std::string compressed = zlib ? examples::zlib_compress(bytes) : bytes;
  return aes ? testing::aescipher_encrypt(kCipherKey, compressed) : compressed;
}

bool zlib_codec(Codec codec) {
  return codec == Codec::json_zlib || codec == Codec::eventsourcing_json_zlib ||
         codec == Codec::eventsourcing_json_zlib_aes;
}

// What the application does to the transcoder's bytes under `codec`.
StateEncoding state_encoding(Codec codec) {
  if (codec == Codec::eventsourcing_json) return {};
  return [zlib = zlib_codec(codec), aes = config::is_encrypted(codec)](const std::string& state) {
    return zlib_aes(state, zlib, aes);
  };
}

void exec(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::work txn(connection);
  txn.exec(sql);
  txn.commit();
}

// Runs `write` over the first `count` events in one transaction with one COPY into `table` (`columns`).
template <typename Write>
void copy_events(pqxx::connection& connection, const std::string& table, const std::vector<std::string>& columns,
                 std::int64_t count, Write write) {
  pqxx::work txn(connection);
  pqxx::stream_to copy(txn, table, columns);
  examples::UserEventGenerator generator(kSeed);
  for (std::int64_t k = 1; k <= count; ++k) write(copy, k, generator.next());
  copy.complete();
  txn.commit();
}

void load_eventsourcing(pqxx::connection& connection, Codec codec, std::int64_t count) {
  const StateEncoding encode = state_encoding(codec);
  copy_events(connection, "stored_events", {"originator_id", "originator_version", "topic", "state"}, count,
              [&](pqxx::stream_to& copy, std::int64_t, const examples::StoredEvent& event) {
                copy << std::make_tuple(event.originator_id, event.originator_version, event.topic,
                                        bytea_hex(encode ? encode(event.state) : event.state));
              });
}

void load_django_event_store(pqxx::connection& connection, std::int64_t count) {
  // The guide's aggregate ids are integers: each user gets the next one at registration, and the ids the
  // reference has go to a table of their own so that the models compare.
  std::unordered_map<std::string, std::int64_t> aggregate_ids;
  std::vector<const std::string*> uuids;
  copy_events(connection, std::string(kDjangoApp) + "_eventstorerecord",
              {"aggregate_id", "event_id", "event_type", "event_data", "version", "occurred_at"}, count,
              [&](pqxx::stream_to& copy, std::int64_t k, const examples::StoredEvent& stored) {
                PlainEvent event = plain(stored);
                const auto [it, added] =
                    aggregate_ids.try_emplace(event.user_id, static_cast<std::int64_t>(aggregate_ids.size()) + 1);
                if (added) uuids.push_back(&it->first);
                copy << std::make_tuple(it->second, event_uuid(k), event.type, json::serialize(event.data),
                                        event.version, event.at);
              });
  pqxx::work txn(connection);
  txn.exec(std::string("CREATE TABLE ") + kUserIdsTable + " (aggregate_id integer PRIMARY KEY, user_id text NOT NULL)");
  pqxx::stream_to copy(txn, kUserIdsTable, std::vector<std::string>{"aggregate_id", "user_id"});
  for (std::size_t i = 0; i < uuids.size(); ++i) copy << std::make_tuple(static_cast<std::int64_t>(i) + 1, *uuids[i]);
  copy.complete();
  txn.commit();
}

void load_djangoevents(pqxx::connection& connection, std::int64_t count) {
  copy_events(connection, "event_journal",
              {"event_id", "event_type", "event_data", "aggregate_id", "aggregate_type", "aggregate_version",
               "create_date", "metadata", "_module_name", "_class_name", "_stored_entity_id", "event_version"},
              count, [&](pqxx::stream_to& copy, std::int64_t k, const examples::StoredEvent& stored) {
                const PlainEvent event = plain(stored);
                copy << std::make_tuple(event_uuid(k), event.type, sorted_keys_json(event.data), event.user_id,
                                        std::string("User"), event.version, event.at, std::string("null"),
                                        std::string("users.events"), "User." + event.type, "User::" + event.user_id,
                                        std::int64_t{1});
              });
}

void load_eventuali(pqxx::connection& connection, std::int64_t count) {
  copy_events(connection, "events",
              {"id", "aggregate_id", "aggregate_type", "event_type", "event_version", "aggregate_version",
               "event_data", "event_data_type", "metadata", "timestamp"},
              count, [&](pqxx::stream_to& copy, std::int64_t k, const examples::StoredEvent& stored) {
                const PlainEvent event = plain(stored);
                copy << std::make_tuple(event_uuid(k), event.user_id, std::string("User"), event.type,
                                        std::int64_t{1}, event.version, json::serialize(event.data),
                                        std::string("json"), std::string("{}"), event.at);
              });
}

// One COPY per table, each over the whole sequence: Django saves each model to its own table.
void load_event_tables(pqxx::connection& connection, std::int64_t count) {
  for (const EventTable& table : event_tables()) {
    std::vector<std::string> columns{"created", "user_id"};
    columns.insert(columns.end(), table.fields.begin(), table.fields.end());
    pqxx::work txn(connection);
    pqxx::stream_to copy(txn, table.table, columns);
    examples::UserEventGenerator generator(kSeed);
    for (std::int64_t k = 1; k <= count; ++k) {
      const examples::StoredEvent stored = generator.next();
      if (!stored.topic.ends_with(table.type)) continue;
      const PlainEvent event = plain(stored);
      std::vector<Text> row{event.at, event.user_id};
      for (const char* name : table.fields) row.push_back(field(event.data, name));
      // stream_to writes tuples: the tables have two to four fields after created and user_id.
      if (row.size() == 4) copy << std::make_tuple(row[0], row[1], row[2], row[3]);
      if (row.size() == 5) copy << std::make_tuple(row[0], row[1], row[2], row[3], row[4]);
      if (row.size() == 6) copy << std::make_tuple(row[0], row[1], row[2], row[3], row[4], row[5]);
    }
    copy.complete();
    txn.commit();
  }
}

void load_generic(pqxx::connection& connection, Codec codec, std::int64_t count) {
  copy_events(connection, "events", {"stream_id", "version", "type", "data", "recorded_at"}, count,
              [&](pqxx::stream_to& copy, std::int64_t, const examples::StoredEvent& stored) {
                const PlainEvent event = plain(stored);
                const std::string data = json::serialize(event.data);
                copy << std::make_tuple(event.user_id, event.version, event.type,
                                        codec == Codec::json ? data : bytea_hex(examples::zlib_compress(data)),
                                        event.at);
              });
}

std::string generic_ddl(Codec codec) {
  return std::string("CREATE TABLE events (id bigserial PRIMARY KEY, stream_id text NOT NULL, version bigint NOT NULL,"
                     " type text NOT NULL, data ") +
         (codec == Codec::json ? "jsonb" : "bytea") + " NOT NULL, recorded_at timestamptz NOT NULL)";
}

std::string event_tables_ddl() {
  std::string ddl;
  for (const EventTable& table : event_tables()) {
    ddl += std::string("CREATE TABLE ") + table.table +
           " (id serial PRIMARY KEY, created timestamptz NOT NULL, user_id varchar(36) NOT NULL, " + table.ddl_fields +
           ");";
  }
  return ddl;
}

std::string toml_quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

std::string StoreCombination::name() const { return preset + "/" + std::string(config::codec_name(codec)); }

std::vector<StoreCombination> store_combinations() {
  const std::vector<Codec> transcoded{Codec::eventsourcing_json, Codec::eventsourcing_json_zlib,
                                      Codec::eventsourcing_json_aes, Codec::eventsourcing_json_zlib_aes};
  std::vector<StoreCombination> all;
  for (const char* preset : {"eventsourcing", "eventsourcing_django"}) {
    for (const Codec codec : transcoded) all.push_back({preset, codec});
  }
  // jsonb and text columns hold JSON only; the generic table is ours, so it has a bytea column for zlib too.
  for (const char* preset : {"django_event_store", "djangoevents", "eventuali", "django_event_tables", "generic"}) {
    all.push_back({preset, Codec::json});
  }
  all.push_back({"generic", Codec::json_zlib});
  return all;
}

StoreCombination plain_json_of(const StoreCombination& combination) {
  const bool transcoded = combination.preset == "eventsourcing" || combination.preset == "eventsourcing_django";
  return {combination.preset, transcoded ? Codec::eventsourcing_json : Codec::json};
}

std::vector<std::pair<std::string, std::string>> store_environment(const StoreCombination& combination) {
  if (!combination.encrypted()) return {};
  return {{"CIPHER_KEY", testing::base64(kCipherKey)}};
}

void create_store(const std::string& url, const StoreCombination& c, std::int64_t count,
                  const std::string& log_path) {
  if (c.preset == "eventsourcing_django") {
    create_stored_events(url, log_path);
  } else if (c.preset == "eventsourcing") {
    exec(url, testing::eventsourcing_events_ddl("stored"));
  } else if (c.preset == "django_event_store") {
    exec(url, testing::event_store_record_ddl(kDjangoApp));
  } else if (c.preset == "djangoevents") {
    exec(url, testing::kEventJournalDdl);
  } else if (c.preset == "eventuali") {
    exec(url, testing::kEventualiEventsDdl);
  } else if (c.preset == "django_event_tables") {
    exec(url, event_tables_ddl());
  } else {
    exec(url, generic_ddl(c.codec));
  }

  pqxx::connection connection(url);
  if (c.preset == "eventsourcing_django") {
    examples::UserEventGenerator generator(kSeed);
    append_events(connection, generator, count, state_encoding(c.codec));
  } else if (c.preset == "eventsourcing") {
    load_eventsourcing(connection, c.codec, count);
  } else if (c.preset == "django_event_store") {
    load_django_event_store(connection, count);
  } else if (c.preset == "djangoevents") {
    load_djangoevents(connection, count);
  } else if (c.preset == "eventuali") {
    load_eventuali(connection, count);
  } else if (c.preset == "django_event_tables") {
    load_event_tables(connection, count);
  } else {
    load_generic(connection, c.codec, count);
  }
  pqxx::nontransaction txn(connection);
  txn.exec("VACUUM ANALYZE");
}

std::string store_source_toml(const StoreCombination& c) {
  std::string toml = "[sources.shop]\npreset = " + toml_quoted(c.preset) + "\ncodec = " + toml_quoted(config::codec_name(c.codec)) + "\n";
  if (c.preset == "eventsourcing_django") toml += "application_name = " + toml_quoted(kApplication) + "\n";
  if (c.preset == "django_event_store") toml += "table = " + toml_quoted(std::string(kDjangoApp) + "_eventstorerecord") + "\n";
  if (c.preset == "django_event_tables") {
    std::string tables;
    std::string type_names;
    for (const EventTable& table : event_tables()) {
      tables += (tables.empty() ? "" : ", ") + toml_quoted(table.table);
      type_names += (type_names.empty() ? "" : ", ") + std::string(table.table) + " = " + toml_quoted(table.type);
    }
    toml += "tables = [" + tables + "]\ntype_names = { " + type_names + " }\nstream_id_column = \"user_id\"\n";
  }
  if (c.preset == "generic") {
    toml +=
        "table = \"events\"\nposition_column = \"id\"\nstream_id_column = \"stream_id\"\nversion_column = \"version\"\n"
        "type_column = \"type\"\npayload_column = \"data\"\nrecorded_at_column = \"recorded_at\"\n";
  }
  return toml;
}

bool store_needs_position(const StoreCombination& c) {
  return c.preset == "eventuali" || c.preset == "django_event_tables";
}

std::string compared_columns(const StoreCombination& c) {
  if (c.preset == "django_event_tables") {
    return "user_id, username, email, first_name, last_name, phone, is_active, created_at, deactivated_at,"
           " last_event_processed";
  }
  return kUserColumns;
}

std::string compared_select(const StoreCombination& c, const std::string& model) {
  const std::string columns = compared_columns(c);
  if (c.preset != "django_event_store") return "SELECT " + columns + " FROM " + model;
  return "SELECT " + columns + " FROM (SELECT m.user_id, p.username, p.email, p.first_name, p.last_name, p.phone," +
         " p.is_active, p.created_at, p.deactivated_at, p.current_version, p.last_event_processed FROM " + model +
         " p JOIN " + kUserIdsTable + " m ON m.aggregate_id::text = p.user_id) t";
}

}  // namespace projectord::bench
