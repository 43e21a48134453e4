// `projectord detect URL` against each store's real DDL with events encoded as its library writes them: the
// printed config names the right preset, table and codec, loads, and (for pyeventsourcing and the Django
// guide's EventStoreRecord) runs as printed with one handler uncommented.
#include <catch2/catch.hpp>
#include <csignal>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <string>

#include "examples/user_events.hpp"
#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/store_schemas.hpp"
#include "tests/support/aescipher.hpp"

using namespace projectord::testing::blackbox;
using projectord::examples::UserEventGenerator;
using projectord::examples::zlib_compress;
using projectord::testing::aescipher_encrypt;
using projectord::testing::base64;
using projectord::testing::DaemonProcess;
using projectord::testing::event_store_record_ddl;
using projectord::testing::eventsourcing_events_ddl;
using projectord::testing::eventually;
using projectord::testing::kEventJournalDdl;
using projectord::testing::kEventualiEventsDdl;
using projectord::testing::kLibraryEventTablesDdl;
using projectord::testing::run_command;
using projectord::testing::RunResult;
using projectord::testing::TestDatabase;

namespace {

// pyeventsourcing 9.4's PostgreSQL recorders for application `prefix` (POSTGRES_SCHEMA `schema`): events,
// snapshots (no notification_id) and single-row tracking.
std::string eventsourcing_ddl(const std::string& prefix, const std::string& schema = "public") {
  return eventsourcing_events_ddl(prefix, schema) + "CREATE TABLE " + schema + "." + prefix +
         "_snapshots (originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, state bytea,"
         " PRIMARY KEY (originator_id, originator_version));"
         "CREATE TABLE " + schema + "." + prefix +
         "_tracking (application_name text, notification_id bigint, PRIMARY KEY (application_name));";
}

// Events of the Django guide's User aggregate into a pyeventsourcing table, each state passed through
// `encode` (the compressor and cipher the application configures).
template <class Encode>
void write_eventsourcing(const TestDatabase& db, const std::string& table, int events, Encode encode) {
  const auto connection = db.connect();
  pqxx::work txn(*connection);
  UserEventGenerator generator(7);
  for (int i = 0; i < events; ++i) {
    const auto event = generator.next();
    txn.exec_params(
        "INSERT INTO " + table + " (originator_id, originator_version, topic, state) VALUES ($1, $2, $3, $4)",
        event.originator_id, event.originator_version, event.topic, pqxx::binarystring(encode(event.state)));
  }
  txn.commit();
}

std::string as_is(const std::string& state) { return state; }

// One event in djangoevents' event_journal, metadata `null` as djangoevents writes it.
const char* kEventJournalRow =
    "INSERT INTO event_journal (event_id, event_type, event_data, aggregate_id, aggregate_type, aggregate_version,"
    " create_date, metadata, _module_name, _class_name, _stored_entity_id) VALUES ('9f1c0a4e0b6c11ef8a1d0242ac120002',"
    " 'todo_created', '{\"label\":\"milk\"}', 'a1', 'Todo', 1, now(), 'null', 'todos.models', 'Todo.Created',"
    " 'Todo::a1')";

// One event in Eventuali's `events`.
const char* kEventualiRow =
    "INSERT INTO events (id, aggregate_id, aggregate_type, event_type, event_version, aggregate_version, event_data,"
    " metadata) VALUES (gen_random_uuid(), 'u1', 'User', 'UserRegistered', 1, 1, '{\"email\": \"a@b.c\"}',"
    " '{\"causation_id\": null, \"headers\": {}}')";

// A password libpq is given but the test server (trust authentication) never asks for: it must show nowhere.
const std::string kPassword = "detect-test-password-3141";

RunResult detect(const TestDatabase& db, std::map<std::string, std::string> env = {}) {
  return run_command({kBinary, "detect", db.url() + " password=" + kPassword}, std::move(env));
}

// The printed config with the commented-out block of handler `name` made live.
std::string uncommented(std::string config, const std::string& name) {
  const auto start = config.find("# [handlers." + name + "]\n");
  REQUIRE(start != std::string::npos);
  for (std::size_t line = start; line < config.size() && config.compare(line, 2, "# ") == 0;) {
    config.erase(line, 2);
    line = config.find('\n', line) + 1;
  }
  return config;
}

// Where the printed config says a source's key is, e.g. `[sources.worlds]` ... `codec = "..."`.
std::string source_section(const std::string& config, const std::string& name) {
  const auto start = config.find("[sources." + name + "]\n");
  if (start == std::string::npos) return "";
  return config.substr(start, config.find("\n\n", start) - start);
}

bool has_line(const std::string& section, const std::string& line) {
  return ("\n" + section + "\n").find("\n" + line + "\n") != std::string::npos;
}

// Runs the daemon with `config` (the printed one, made live) until `projected` holds.
void run_until(const TestDatabase& db, const std::string& config, const std::function<bool()>& projected) {
  const std::string file = write_file("detected.toml", config + "\n[http]\nlisten = \"127.0.0.1:0\"\n");
  const std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}};
  const auto migrate = run_command({kBinary, "--config", file, "migrate"}, env);
  INFO(migrate.output);
  REQUIRE(migrate.exit_code == 0);
  DaemonProcess daemon({kBinary, "--config", file, "run"}, env);
  const bool done = eventually(projected);
  INFO(daemon.log());
  CHECK(done);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

}  // namespace

TEST_CASE(
    "detect prints a pyeventsourcing application's config, which projects its users once a handler is uncommented") {
  TestDatabase db;
  db.exec(eventsourcing_ddl("worlds"));
  write_eventsourcing(db, "worlds_events", 40, as_is);
  const RunResult detected = detect(db);
  INFO(detected.output);
  REQUIRE(detected.exit_code == 0);
  const std::string source = source_section(detected.output, "worlds");
  CHECK(has_line(source, "preset = \"eventsourcing\""));
  CHECK(has_line(source, "table = \"worlds_events\""));
  CHECK(has_line(source, "codec = \"eventsourcing_json\""));
  CHECK(detected.output.find("worlds_snapshots") == std::string::npos);
  CHECK(detected.output.find("worlds_tracking") == std::string::npos);
  CHECK(detected.output.find("url = \"${DATABASE_URL}\"") != std::string::npos);
  CHECK(detected.output.find(kPassword) == std::string::npos);

  run_until(db, uncommented(detected.output, "worlds_users"), [&] {
    return db.query_int("SELECT count(*) FROM user_projection") ==
           db.query_int("SELECT count(DISTINCT originator_id) FROM worlds_events");
  });
}

TEST_CASE(
    "detect prints a Django EventStoreRecord model's config, which logs its events once a handler is uncommented") {
  TestDatabase db;
  db.exec(event_store_record_ddl("orders"));
  std::string inserts;
  for (int i = 1; i <= 12; ++i) {
    inserts +=
        "INSERT INTO orders_eventstorerecord (aggregate_id, event_id, event_type, event_data, version,"
        " occurred_at) VALUES (" +
        std::to_string((i + 1) / 2) +
        ", gen_random_uuid()::text, 'OrderPlaced',"
        " jsonb_build_object('aggregate_id', " +
        std::to_string((i + 1) / 2) + ", 'total', " + std::to_string(i) + "), " + std::to_string(2 - i % 2) +
        ", now());";
  }
  db.exec(inserts);
  const RunResult detected = detect(db);
  INFO(detected.output);
  REQUIRE(detected.exit_code == 0);
  const std::string source = source_section(detected.output, "orders");
  CHECK(has_line(source, "preset = \"django_event_store\""));
  CHECK(has_line(source, "table = \"orders_eventstorerecord\""));
  CHECK(has_line(source, "codec = \"json\""));

  run_until(db, uncommented(detected.output, "orders_log"),
            [&] { return db.query_int("SELECT count(*) FROM user_event_log") == 12; });
}

TEST_CASE(
    "detect finds every store of a database in every schema, one source per eventsourcing_django application,"
    " and its config loads") {
  TestDatabase db;
  db.exec("CREATE SCHEMA billing;" + eventsourcing_ddl("invoices", "billing"));
  write_eventsourcing(db, "billing.invoices_events", 5, zlib_compress);
  REQUIRE(run_command({kWriter, "--url", db.url(), "--events", "6", "--app", "Shop", "--zlib"}).exit_code == 0);
  REQUIRE(run_command({kWriter, "--url", db.url(), "--events", "6", "--app", "Blog"}).exit_code == 0);
  // pyeventsourcing 9.0's recorder: int4 positions and versions, writers without a lock.
  db.exec(
      "CREATE TABLE legacy_events (originator_id uuid NOT NULL, originator_version integer NOT NULL, topic text,"
      " state bytea, notification_id SERIAL, PRIMARY KEY (originator_id, originator_version))");
  db.exec(std::string(kEventJournalDdl) + kEventJournalRow);
  db.exec(std::string(kEventualiEventsDdl) + kEventualiRow);
  const RunResult detected = detect(db);
  INFO(detected.output);
  REQUIRE(detected.exit_code == 0);

  const std::string invoices = source_section(detected.output, "billing_invoices");
  CHECK(has_line(invoices, "preset = \"eventsourcing\""));
  CHECK(has_line(invoices, "table = \"billing.invoices_events\""));
  CHECK(has_line(invoices, "codec = \"eventsourcing_json_zlib\""));
  CHECK(has_line(source_section(detected.output, "legacy"), "commit_order = \"concurrent\""));
  CHECK_FALSE(has_line(invoices, "commit_order = \"concurrent\""));
  const std::string shop = source_section(detected.output, "shop");
  CHECK(has_line(shop, "preset = \"eventsourcing_django\""));
  CHECK(has_line(shop, "table = \"stored_events\""));
  CHECK(has_line(shop, "application_name = \"Shop\""));
  CHECK(has_line(shop, "codec = \"eventsourcing_json_zlib\""));
  const std::string blog = source_section(detected.output, "blog");
  CHECK(has_line(blog, "application_name = \"Blog\""));
  CHECK(has_line(blog, "codec = \"eventsourcing_json\""));
  const std::string journal = source_section(detected.output, "event_journal");
  CHECK(has_line(journal, "preset = \"djangoevents\""));
  CHECK(has_line(journal, "codec = \"json\""));
  const std::string events = source_section(detected.output, "events");
  CHECK(has_line(events, "preset = \"eventuali\""));
  CHECK(detected.output.find("migrate --add-position events") != std::string::npos);
  // Several sources: each handler its own read-model table.
  CHECK(detected.output.find("# table = \"user_projection_shop\"") != std::string::npos);

  const std::string file = write_file("detected-all.toml", detected.output);
  const auto check = run_command({kBinary, "--config", file, "check-config"}, {{"DATABASE_URL", db.url()}});
  INFO(check.output);
  CHECK(check.exit_code == 0);
  CHECK(check.output.find("(6 source(s), 0 handler(s))") != std::string::npos);
}

TEST_CASE(
    "detect takes encrypted payloads for AES-GCM, names both aes codecs without the key and tells them apart"
    " with it") {
  const std::string key = "detect-blackbox-key-0123456789ab";  // 32 bytes
  TestDatabase db;
  db.exec(eventsourcing_ddl("plainvault") + eventsourcing_ddl("zipvault"));
  write_eventsourcing(db, "plainvault_events", 4,
                      [&](const std::string& state) { return aescipher_encrypt(key, state); });
  write_eventsourcing(db, "zipvault_events", 4,
                      [&](const std::string& state) { return aescipher_encrypt(key, zlib_compress(state)); });

  const RunResult without_key = detect(db);
  INFO(without_key.output);
  REQUIRE(without_key.exit_code == 0);
  for (const std::string name : {"plainvault", "zipvault"}) {
    const std::string source = source_section(without_key.output, name);
    CHECK(has_line(source, "codec = \"eventsourcing_json_aes\""));
    CHECK(has_line(source, "cipher_key_env = \"CIPHER_KEY\""));
    CHECK(source.find("eventsourcing_json_zlib_aes") != std::string::npos);
  }

  const RunResult with_key = detect(db, {{"CIPHER_KEY", base64(key)}});
  INFO(with_key.output);
  REQUIRE(with_key.exit_code == 0);
  CHECK(has_line(source_section(with_key.output, "plainvault"), "codec = \"eventsourcing_json_aes\""));
  CHECK(has_line(source_section(with_key.output, "zipvault"), "codec = \"eventsourcing_json_zlib_aes\""));
  CHECK(with_key.output.find(base64(key)) == std::string::npos);
  const std::string file = write_file("detected-aes.toml", with_key.output);
  CHECK(run_command({kBinary, "--config", file, "check-config"},
                    {{"DATABASE_URL", db.url()}, {"CIPHER_KEY", base64(key)}})
            .exit_code == 0);
}

TEST_CASE("detect on a database without a store says so and exits non-zero, naming no password") {
  TestDatabase db;
  // pyeventsourcing's snapshots and tracking alone, and a table named like a store without its columns.
  db.exec(eventsourcing_ddl("worlds") + "DROP TABLE worlds_events; CREATE TABLE stored_events (id bigint, body text)");
  const RunResult detected = detect(db);
  INFO(detected.output);
  CHECK(detected.exit_code == 1);
  CHECK(detected.output.find("detect: no event store projectord has a preset for in this database") !=
        std::string::npos);
  CHECK(detected.output.find("[database]") == std::string::npos);
  CHECK(detected.output.find(kPassword) == std::string::npos);
}

TEST_CASE("detect refuses a URL libpq cannot parse without quoting it") {
  const RunResult detected = run_command({kBinary, "detect", "host=localhost password=" + kPassword + " bad"});
  INFO(detected.output);
  CHECK(detected.exit_code == 1);
  CHECK(detected.output.find(kPassword) == std::string::npos);
  CHECK(run_command({kBinary, "detect"}).exit_code == 2);
}

TEST_CASE(
    "detect recognises a Django app with one table per event type, before and after migrate --add-position,"
    " and its printed config projects every event") {
  TestDatabase db;
  db.exec(std::string(kLibraryEventTablesDdl) +
          // Models that are not events: one whose rows change, one alone in its app.
          "CREATE TABLE library_loan (id serial PRIMARY KEY, created timestamptz NOT NULL, modified timestamptz);"
          "CREATE TABLE shelf_shelf (id serial PRIMARY KEY, created timestamptz NOT NULL);"
          "INSERT INTO library_bookborrowed (created, borrowed_by, book_id)"
          " SELECT now(), 'reader ' || n, n % 5 + 1 FROM generate_series(1, 7) n;"
          "INSERT INTO library_bookreturned (created, book_id) SELECT now(), n % 5 + 1 FROM generate_series(1, 4) n;"
          "INSERT INTO library_bookbought (created, price) SELECT now(), n FROM generate_series(1, 3) n;");
  const std::string tables_line = R"(tables = ["library_bookborrowed", "library_bookbought", "library_bookreturned"])";

  const RunResult before = detect(db);
  INFO(before.output);
  REQUIRE(before.exit_code == 0);
  const std::string source = source_section(before.output, "library");
  CHECK(has_line(source, "preset = \"django_event_tables\""));
  CHECK(has_line(source, tables_line));
  CHECK(has_line(source, "# stream_id_column = \"book_id\""));
  CHECK(before.output.find("migrate --add-position library") != std::string::npos);
  CHECK(before.output.find("library_loan") == std::string::npos);
  CHECK(before.output.find("shelf") == std::string::npos);

  const std::string file = write_file("detected-tables.toml", before.output);
  const std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}};
  const RunResult migrated = run_command({kBinary, "--config", file, "migrate", "--add-position", "library"}, env);
  INFO(migrated.output);
  REQUIRE(migrated.exit_code == 0);

  const RunResult after = detect(db);
  INFO(after.output);
  REQUIRE(after.exit_code == 0);
  CHECK(has_line(source_section(after.output, "library"), tables_line));
  CHECK(after.output.find("--add-position") == std::string::npos);
  run_until(db, uncommented(after.output, "library_log"),
            [&] { return db.query_int("SELECT count(*) FROM user_event_log") == 14; });
}
