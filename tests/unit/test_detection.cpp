// `projectord detect`'s pure parts: which codec a sample of payloads takes, which preset a table's columns
// are, and that the config it prints for them loads with the real loader.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/support/scoped_env.hpp"
#include "config/loader.hpp"
#include "daemon/cli/detected_config.hpp"
#include "daemon/cli/payload_sniffing.hpp"
#include "daemon/cli/store_detection.hpp"
#include "handlers/registry.hpp"
#include "tests/support/aescipher.hpp"

using projectord::cli::CodecGuess;
using projectord::cli::detected_config;
using projectord::cli::DetectedStore;
using projectord::cli::Detection;
using projectord::cli::guess_codec;
using projectord::cli::event_table_groups;
using projectord::cli::recognise;
using projectord::cli::TableColumns;
using projectord::config::CipherKey;
using projectord::config::Codec;
using projectord::testing::aescipher_encrypt;
using projectord::testing::base64;

using projectord::testing::ScopedEnv;

namespace {

// pyeventsourcing's JSONTranscoder bytes for a Created event, and the same without its markers.
const std::string kTranscoded =
    R"({"timestamp":{"_type_":"datetime_iso","_data_":"2024-02-07T15:32:51.123456+00:00"},"originator_topic":"myapp.domain:World"})";
const std::string kPlain = R"({"user_id": 7, "email": "ann@example.com"})";

const std::string kDetectKey = "detect-test-key-0123456789abcdef";  // 32 bytes

// zlib.compress(data, level): levels 1, 6 and 9 write the headers 78 01, 78 9C and 78 DA.
std::string zlib_at(const std::string& plain, int level) {
  uLongf size = compressBound(plain.size());
  std::string out(size, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(plain.data()),
                    plain.size(), level) == Z_OK);
  out.resize(size);
  return out;
}

CipherKey cipher_key_of(const std::string& raw) {
  auto key = CipherKey::from_base64(base64(raw));
  REQUIRE(key.has_value());
  return *key;
}

CodecGuess guess(const std::vector<std::string>& samples, bool transcoded, const CipherKey& key = {}) {
  return guess_codec(samples, transcoded, key);
}

bool mentions(const CodecGuess& guess, const std::string& text) {
  for (const std::string& note : guess.notes) {
    if (note.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a pyeventsourcing table's JSON payloads take the eventsourcing_json codec, markers or not") {
  CHECK(guess({kTranscoded}, true).codec == Codec::eventsourcing_json);
  CHECK(guess({kPlain}, true).codec == Codec::eventsourcing_json);
  CHECK(guess({kTranscoded}, true).certain);
  CHECK(mentions(guess({kTranscoded}, true), "transcoder markers"));
}

TEST_CASE(
    "plain JSON in a JSON or text column takes the json codec, and transcoder markers make it eventsourcing_json") {
  CHECK(guess({kPlain, kPlain}, false).codec == Codec::json);
  CHECK(guess({kPlain, kTranscoded}, false).codec == Codec::eventsourcing_json);
}

TEST_CASE("zlib-compressed JSON at any level is recognised by its header and inflates") {
  for (const int level : {1, 6, 9}) {
    const std::string compressed = zlib_at(kTranscoded, level);
    CAPTURE(level, static_cast<unsigned>(static_cast<unsigned char>(compressed[1])));
    CHECK(guess({compressed}, true).codec == Codec::eventsourcing_json_zlib);
    CHECK(guess({zlib_at(kPlain, level)}, false).codec == Codec::json_zlib);
  }
}

TEST_CASE("payloads that are neither JSON nor zlib are taken for AES-GCM, the zlib'd twin named as just as likely") {
  const CodecGuess encrypted = guess({aescipher_encrypt(kDetectKey, kTranscoded)}, true);
  CHECK(encrypted.codec == Codec::eventsourcing_json_aes);
  CHECK_FALSE(encrypted.certain);
  CHECK(mentions(encrypted, "eventsourcing_json_zlib_aes"));
  CHECK(mentions(encrypted, "CIPHER_KEY"));
}

TEST_CASE("ciphertext whose nonce starts like a zlib header is still taken for AES-GCM") {
  std::string encrypted = aescipher_encrypt(kDetectKey, kTranscoded);
  encrypted[0] = '\x78';
  encrypted[1] = '\x9c';
  CHECK(guess({encrypted}, true).codec == Codec::eventsourcing_json_aes);
}

TEST_CASE("with the application's key, encrypted JSON and encrypted zlib'd JSON are told apart") {
  const CipherKey key = cipher_key_of(kDetectKey);
  const CodecGuess aes = guess({aescipher_encrypt(kDetectKey, kTranscoded)}, true, key);
  CHECK(aes.codec == Codec::eventsourcing_json_aes);
  CHECK(aes.certain);
  const CodecGuess zlib_aes = guess({aescipher_encrypt(kDetectKey, zlib_at(kTranscoded, 6))}, true, key);
  CHECK(zlib_aes.codec == Codec::eventsourcing_json_zlib_aes);
  CHECK(zlib_aes.certain);
}

TEST_CASE("a key that opens none of the samples leaves the aes guess uncertain and says so") {
  const CodecGuess guessed =
      guess({aescipher_encrypt(kDetectKey, kTranscoded)}, true, cipher_key_of("another-key-0123456789abcdefghij"));
  CHECK(guessed.codec == Codec::eventsourcing_json_aes);
  CHECK_FALSE(guessed.certain);
  CHECK(mentions(guessed, "opens none"));
}

TEST_CASE("a table without events gets its preset's codec, marked as a guess") {
  CHECK(guess({}, true).codec == Codec::eventsourcing_json);
  CHECK(guess({}, false).codec == Codec::json);
  CHECK_FALSE(guess({}, true).certain);
}

TEST_CASE("when sampled payloads disagree the newest decides, and the guess says they disagree") {
  const CodecGuess guessed = guess({zlib_at(kTranscoded, 6), kTranscoded}, true);
  CHECK(guessed.codec == Codec::eventsourcing_json_zlib);
  CHECK(mentions(guessed, "not all encoded alike"));
}

TEST_CASE("payloads of a JSON column that are no JSON objects are counted, not taken for ciphertext") {
  const CodecGuess guessed = guess({"[1, 2]", kPlain}, false);
  CHECK(guessed.codec == Codec::json);
  CHECK(mentions(guessed, "1 of 2 sampled payloads are not JSON objects"));
}

TEST_CASE("each store's table is recognised by its columns and their types") {
  const TableColumns pyeventsourcing{"public",
                                     "worlds_events",
                                     {{"originator_id", "uuid"},
                                      {"originator_version", "int8"},
                                      {"topic", "text"},
                                      {"state", "bytea"},
                                      {"notification_id", "int8"}}};
  CHECK(recognise(pyeventsourcing) == "eventsourcing");
  TableColumns snapshots = pyeventsourcing;
  snapshots.types.erase("notification_id");
  CHECK(recognise(snapshots).empty());
  CHECK(recognise({"public", "worlds_tracking", {{"application_name", "text"}, {"notification_id", "int8"}}}).empty());
  TableColumns wrong_payload = pyeventsourcing;
  wrong_payload.types["state"] = "text";
  CHECK(recognise(wrong_payload).empty());

  CHECK(recognise({"public",
                   "anything",
                   {{"id", "int8"},
                    {"application_name", "varchar"},
                    {"originator_id", "uuid"},
                    {"originator_version", "int8"},
                    {"topic", "text"},
                    {"state", "bytea"}}}) == "eventsourcing_django");
  CHECK(recognise({"public",
                   "shop_eventstorerecord",
                   {{"id", "int8"},
                    {"aggregate_id", "int4"},
                    {"event_id", "varchar"},
                    {"event_type", "varchar"},
                    {"event_data", "jsonb"},
                    {"version", "int4"},
                    {"occurred_at", "timestamptz"}}}) == "django_event_store");
  CHECK(recognise({"public",
                   "event_journal",
                   {{"id", "int4"},
                    {"event_id", "varchar"},
                    {"event_type", "varchar"},
                    {"event_data", "text"},
                    {"aggregate_id", "varchar"},
                    {"aggregate_type", "varchar"},
                    {"aggregate_version", "int4"},
                    {"create_date", "timestamptz"},
                    {"metadata", "text"},
                    {"_module_name", "varchar"},
                    {"_class_name", "varchar"},
                    {"_stored_entity_id", "varchar"},
                    {"event_version", "int4"}}}) == "djangoevents");
  TableColumns eventuali{"public",
                         "events",
                         {{"id", "uuid"},
                          {"aggregate_id", "varchar"},
                          {"aggregate_type", "varchar"},
                          {"event_type", "varchar"},
                          {"event_version", "int4"},
                          {"aggregate_version", "int8"},
                          {"event_data", "jsonb"},
                          {"event_data_type", "varchar"},
                          {"metadata", "jsonb"},
                          {"timestamp", "timestamptz"}}};
  CHECK(recognise(eventuali) == "eventuali");
  eventuali.types.emplace("global_position", "int8");
  CHECK(recognise(eventuali) == "eventuali");
}

namespace {

TableColumns django_model(std::string schema, std::string name, std::map<std::string, std::string, std::less<>> extra,
                          bool referenced = false) {
  extra.emplace("id", "int4");
  extra.emplace("created", "timestamptz");
  return {std::move(schema), std::move(name), std::move(extra), referenced};
}

std::vector<std::vector<std::string>> group_names(const std::vector<TableColumns>& tables) {
  std::vector<std::vector<std::string>> names;
  for (const auto& group : event_table_groups(tables, "projectord_position")) {
    names.emplace_back();
    for (const TableColumns* table : group) names.back().push_back(table->schema + "." + table->name);
  }
  return names;
}

}  // namespace

TEST_CASE(
    "a Django app's models with an id and a created timestamp are one store of event tables, but not a model that is"
    " referenced, changes or stands alone") {
  const std::vector<TableColumns> tables{
      django_model("public", "library_bookborrowed", {{"book_id", "int4"}}),
      django_model("public", "library_bookreturned", {{"book_id", "int4"}}),
      django_model("public", "library_book", {{"title", "varchar"}}, true),
      django_model("public", "library_loan", {{"modified", "timestamptz"}}),
      django_model("public", "shop_order", {}),
      django_model("public", "book_club_memberjoined", {}),
      django_model("public", "book_club_memberleft", {}),
      django_model("archive", "library_bookborrowed", {}),
      {"public", "library_bookbought", {{"id", "int4"}, {"created", "timestamp"}}},
      {"public", "counters", {{"id", "int4"}, {"created", "timestamptz"}}},
  };
  CHECK(group_names(tables) ==
        std::vector<std::vector<std::string>>{
            {"public.book_club_memberjoined", "public.book_club_memberleft"},
            {"public.library_bookborrowed", "public.library_bookreturned"},
        });
  // Numbered by `migrate --add-position`, one table is a store too.
  CHECK(group_names({django_model("public", "shop_orderplaced", {{"projectord_position", "int8"}})}).size() == 1);
}

TEST_CASE("the printed config loads with the real loader, its names made valid and unique and no key in it") {
  const ScopedEnv url("DATABASE_URL", "dbname=detect_test");
  const ScopedEnv key("CIPHER_KEY", base64(kDetectKey));
  CodecGuess encrypted;
  encrypted.codec = Codec::eventsourcing_json_aes;
  encrypted.certain = false;
  encrypted.notes = {"a note"};
  Detection detection;
  detection.stores = {
      {.preset = "eventsourcing_django", .table = "stored_events", .application_name = "Shop \"EU\"\n", .codec = {}},
      {.preset = "eventsourcing_django", .table = "stored_events", .application_name = "shop-eu", .codec = {}},
      {.preset = "eventsourcing", .table = "billing.first_events", .codec = encrypted},
      {.preset = "eventsourcing", .table = "legacy_events", .codec = {}, .unlocked_writers = true},
      {.preset = "eventuali", .table = "events", .codec = {}, .lacks_position = true},
      {.preset = "eventsourcing_django", .table = "other.stored_events", .codec = {}},
      {.preset = "django_event_tables",
       .table = {},
       .tables = {"library_bookborrowed", "library_bookreturned"},
       .stream_id_candidates = {"book_id", "reader_id"},
       .lacks_position = true},
  };
  detection.skipped = {"eventsourcing table \"odd name\": not an identifier"};
  const std::string text = detected_config(detection);
  INFO(text);
  const auto loaded = projectord::config::load_config_text(text, "detected.toml", projectord::handlers::option_table());
  for (const std::string& error : loaded.errors) UNSCOPED_INFO(error);
  REQUIRE(loaded.ok());
  const auto& sources = loaded.config.postgres_sources;
  CHECK(sources.size() == 6);
  REQUIRE(sources.contains("library"));
  CHECK(sources.at("library").tables == std::vector<std::string>{"library_bookborrowed", "library_bookreturned"});
  CHECK(text.find("migrate --add-position library") != std::string::npos);
  CHECK(text.find("# stream_id_column = \"book_id\"") != std::string::npos);
  REQUIRE(sources.contains("shop_eu"));
  CHECK(sources.at("shop_eu").filter_value == "Shop \"EU\"\n");
  CHECK(sources.contains("shop_eu_2"));
  REQUIRE(sources.contains("billing_first"));
  CHECK(sources.at("billing_first").codec == Codec::eventsourcing_json_aes);
  CHECK(sources.contains("events"));
  REQUIRE(sources.contains("legacy"));
  CHECK(sources.at("legacy").commit_order == projectord::config::CommitOrder::concurrent);
  CHECK(sources.at("billing_first").commit_order == projectord::config::CommitOrder::serialized);
  CHECK(text.find("migrate --add-position events") != std::string::npos);
  CHECK(text.find("# [sources.other_stored_events]") != std::string::npos);
  CHECK(text.find(base64(kDetectKey)) == std::string::npos);
  CHECK(text.find("url = \"${DATABASE_URL}\"") != std::string::npos);
}
