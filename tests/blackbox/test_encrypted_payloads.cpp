// Payloads encrypted as pyeventsourcing's AESCipher stores them (CIPHER_TOPIC, CIPHER_KEY), through the daemon:
// the demo store's zlib'd events copied, encrypted at run time, into a second eventsourcing_django table with
// the same positions, so the encrypted source's read model must equal the plain one's row for row. With the
// wrong key every event is a poison event whose error says so, and neither key shows anywhere.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/aescipher.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::aescipher_encrypt;
using projectord::testing::base64;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

// Printable, so that a leak of the raw key is found by the same search as one of its base64.
const std::string kVaultKey = "vault-key-for-blackbox-tests-256";  // 32 bytes
const std::string kWrongKey = "wrong-key-for-blackbox-tests-256";

// vault_events: eventsourcing_django's stored_events layout, for the encrypted twins of the demo's rows.
void create_vault(const TestDatabase& db) { db.exec("CREATE TABLE vault_events (LIKE stored_events INCLUDING ALL)"); }

// Copies the demo's rows after position `after` into vault_events, at the same positions, each state encrypted
// under `key` as AESCipher would after zlib; returns the last position copied.
std::int64_t copy_encrypted(const TestDatabase& db, const std::string& key, std::int64_t after) {
  const auto connection = db.connect();
  pqxx::work transaction(*connection);
  const pqxx::result rows =
      transaction.exec_params("SELECT id, state FROM stored_events WHERE id > $1 ORDER BY id", after);
  for (const pqxx::row& row : rows) {
    const pqxx::binarystring state(row[1]);
    const pqxx::binarystring encrypted(aescipher_encrypt(key, state.str()));
    after = row[0].as<std::int64_t>();
    transaction.exec_params(
        "INSERT INTO vault_events (id, application_name, originator_id, originator_version, topic, state)"
        " SELECT id, application_name, originator_id, originator_version, topic, $2 FROM stored_events WHERE id = $1",
        after, encrypted);
  }
  transaction.commit();
  return after;
}

std::string vault_source(const std::string& key_line) {
  return "[sources.vault]\npreset = \"eventsourcing_django\"\ntable = \"vault_events\"\napplication_name = \"Shop\"\n"
         "codec = \"eventsourcing_json_zlib_aes\"\n" +
         key_line + "\n";
}

const std::string kHead = "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n";

// Every place either key (raw or base64) shows in `text`, by name of where it was read.
std::vector<std::string> key_leaks(const std::string& where, const std::string& text) {
  std::vector<std::string> found;
  for (const std::string& secret : {kVaultKey, base64(kVaultKey), kWrongKey, base64(kWrongKey)}) {
    if (text.find(secret) != std::string::npos) found.push_back(where + " shows " + secret);
  }
  return found;
}

}  // namespace

TEST_CASE(
    "events encrypted as pyeventsourcing's AESCipher does project exactly as their plain twins, caught up and live") {
  TestDatabase db;
  write_events(db, 30);
  create_vault(db);
  std::int64_t copied = copy_encrypted(db, kVaultKey, 0);
  auto env = env_for(db);
  env["CIPHER_KEY"] = base64(kVaultKey);
  const std::string config = write_file(
      "encrypted.toml",
      with_admin_token(kHead) +
          "[sources.plain]\npreset = \"eventsourcing_django\"\napplication_name = \"Shop\"\n"
          "codec = \"eventsourcing_json_zlib\"\n\n" +
          vault_source("") +
          "[handlers.users_plain]\nkind = \"users\"\nsource = \"plain\"\ntable = \"user_projection_plain\"\n\n"
          "[handlers.users_vault]\nkind = \"users\"\nsource = \"vault\"\ntable = \"user_projection_vault\"\n");
  const auto migrate = run_command({kBinary, "--config", config, "migrate"}, env);
  INFO(migrate.output);
  REQUIRE(migrate.exit_code == 0);
  const auto check = run_command({kBinary, "--config", config, "check-config"}, env);
  CHECK(check.exit_code == 0);

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  const Endpoint http(daemon, kAdminToken);
  const auto caught_up = [&] {
    return http.position("users_plain") == copied && http.position("users_vault") == copied;
  };
  REQUIRE(eventually(caught_up));
  write_events(db, 9);
  copied = copy_encrypted(db, kVaultKey, copied);
  REQUIRE(eventually(caught_up));
  CHECK(db.query_int("SELECT count(*) FROM user_projection_vault") > 0);
  CHECK(db.query_int("SELECT count(*) FROM user_projection_vault") ==
        db.query_int("SELECT count(*) FROM user_projection_plain"));
  CHECK(users_differences(db, "user_projection_plain", "user_projection_vault") == 0);
  CHECK(http.state("users_vault") == "idle");  // caught up, not halted

  std::vector<std::string> found;
  for (const auto& [where, text] :
       std::vector<std::pair<std::string, std::string>>{{"/status", http.get("/status").body},
                                                        {"/metrics", http.get("/metrics").body},
                                                        {"projectord check-config", check.output},
                                                        {"projectord migrate", migrate.output}}) {
    for (std::string& leak : key_leaks(where, text)) found.push_back(std::move(leak));
  }
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
  for (std::string& leak : key_leaks("the log", daemon.log())) found.push_back(std::move(leak));
  CHECK(found == std::vector<std::string>{});
}

TEST_CASE(
    "a daemon with the wrong cipher key halts or dead-letters every event with the authentication error, "
    "and shows neither key") {
  TestDatabase db;
  write_events(db, 6);
  create_vault(db);
  const std::int64_t copied = copy_encrypted(db, kVaultKey, 0);
  const std::string key_file = write_file("wrong_cipher_key", base64(kWrongKey) + "\n");
  const std::string config = write_file(
      "wrong_key.toml",
      with_admin_token(kHead) + vault_source("cipher_key_file = \"" + key_file + "\"") +
          "[handlers.users_vault]\nkind = \"users\"\ntable = \"user_projection_vault\"\nmax_attempts = 1\n\n"
          "[handlers.vault_log]\nkind = \"event_log\"\ntable = \"vault_event_log\"\non_error = \"dead_letter\"\n"
          "max_attempts = 1\n");
  auto env = env_for(db);
  env["CIPHER_KEY"] = base64(kVaultKey);  // the right key, where the config does not look
  const auto migrate = run_command({kBinary, "--config", config, "migrate"}, env);
  INFO(migrate.output);
  REQUIRE(migrate.exit_code == 0);

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  const Endpoint http(daemon, kAdminToken);
  const auto letters = [&] {
    return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'vault_log'");
  };
  REQUIRE(eventually([&] { return http.state("users_vault") == "halted" && letters() == copied; }));
  const std::string expected_error =
      "source vault position 1: AES-GCM authentication failed: wrong key or tampered payload";
  CHECK(db.query_value(
            "SELECT error FROM projectord.dead_letters WHERE handler = 'vault_log' ORDER BY position LIMIT 1") ==
        expected_error);
  CHECK_THAT(std::string(http.handler("users_vault").at("last_error").as_string()), Catch::Contains(expected_error));
  CHECK(db.query_int("SELECT count(*) FROM vault_event_log") == 0);

  const auto status = run_command({kBinary, "--config", config, "status", "--show-errors"}, env);
  CHECK_THAT(status.output, Catch::Contains("AES-GCM authentication failed"));
  std::vector<std::string> found;
  for (const auto& [where, text] : std::vector<std::pair<std::string, std::string>>{
           {"/status", http.get("/status").body},
           {"/readyz", http.get("/readyz").body},
           {"/metrics", http.get("/metrics").body},
           {"projectord status --show-errors", status.output},
           {"projectord.dead_letters",
            db.query_value("SELECT string_agg(error || coalesce(payload, ''), '') FROM projectord.dead_letters")}}) {
    for (std::string& leak : key_leaks(where, text)) found.push_back(std::move(leak));
  }
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
  for (std::string& leak : key_leaks("the log", daemon.log())) found.push_back(std::move(leak));
  CHECK(found == std::vector<std::string>{});
}

TEST_CASE("a daemon whose cipher key is missing does not start, naming the source and option but no key") {
  TestDatabase db;
  const std::string config = write_file("missing_key.toml", kHead + vault_source("cipher_key_env = \"VAULT_KEY\"") +
                                                                "[handlers.vault_log]\nkind = \"event_log\"\n");
  auto env = env_for(db);
  env["CIPHER_KEY"] = base64(kVaultKey);  // not the variable the config names
  const auto check = run_command({kBinary, "--config", config, "check-config"}, env);
  CHECK(check.exit_code == 1);
  CHECK_THAT(check.output, Catch::Contains("sources.vault.cipher_key_env: environment variable VAULT_KEY"));
  const auto run = run_command({kBinary, "--config", config, "run"}, env);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.output, Catch::Contains("sources.vault.cipher_key_env"));
  CHECK(key_leaks("check-config", check.output + run.output) == std::vector<std::string>{});
}
