// Versioned events end to end: djangoevents' event_journal holding UserRegistered at schema versions 1, 2 and
// 3 (its event_version column), a v1 -> v2 -> v3 chain of upcasts on the source, and a sql handler whose one
// statement takes version 3. Live and rebuilt, the read model is the one the v3 events describe; an event no
// upcast can apply to is dead-lettered, not a crash.
#include <catch2/catch.hpp>
#include <csignal>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/store_schemas.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::kEventJournalDdl;
using projectord::testing::TestDatabase;

namespace {

constexpr int kUsers = 60;

// djangoevents' INSERT of one event; a NULL event_version is what events before versioning hold.
std::string insert_sql(const std::string& user, const std::string& event_version, const std::string& data) {
  return "INSERT INTO event_journal (event_id, event_type, event_data, aggregate_id, aggregate_type,"
         " aggregate_version, create_date, metadata, _module_name, _class_name, _stored_entity_id, event_version)"
         " VALUES (md5(random()::text), 'UserRegistered', '" + data + "', '" + user + "', 'User', 1, now(), 'null',"
         " 'users.aggregates', 'User.Registered', 'User::" + user + "', " + event_version + ");";
}

// User N registered at schema version N % 3 + 1 (v1 written with no event_version at all, as before the
// application versioned its events), each version in its own shape.
std::string history() {
  std::string sql;
  for (int n = 0; n < kUsers; ++n) {
    const std::string user = "user-" + std::to_string(n);
    const std::string name = "First" + std::to_string(n) + " Last " + std::to_string(n);
    const std::string email = user + "@example.org";
    switch (n % 3) {
      case 0:
        sql += insert_sql(user, "NULL", R"({"name":")" + name + R"(","mail":")" + email + R"("})");
        break;
      case 1:
        sql += insert_sql(user, "2", R"({"name":")" + name + R"(","email":")" + email + R"(","country":"BE"})");
        break;
      default:
        sql += insert_sql(user, "3", R"({"first_name":"First)" + std::to_string(n) + R"(","last_name":"Last )" +
                                         std::to_string(n) + R"(","email":")" + email + R"(","country":"DE"})");
    }
  }
  return sql;
}

// The read model the history describes, as the v3 events would have written it.
std::string expected_rows_sql() {
  std::string sql = "SELECT * FROM (VALUES ";
  for (int n = 0; n < kUsers; ++n) {
    const std::string country = n % 3 == 0 ? "NL" : n % 3 == 1 ? "BE" : "DE";
    sql += std::string(n == 0 ? "" : ", ") + "('user-" + std::to_string(n) + "', 'First" + std::to_string(n) +
           "', 'Last " + std::to_string(n) + "', 'user-" + std::to_string(n) + "@example.org', '" + country + "')";
  }
  return sql + ") expected (id, first_name, last_name, email, country)";
}

const std::string kVersionedConfig = R"toml([database]
url = "${TEST_DATABASE_URL}"

[http]
listen = "127.0.0.1:0"

[sources.journal]
preset = "djangoevents"
poll_interval = "50ms"
hole_grace = "50ms"
batch_size = 7

[[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 1
rename = { mail = "email" }

[[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 2
split = { name = ["first_name", "last_name"] }
default = { country = "NL" }

[handlers.users]
kind = "sql"
on_error = "dead_letter"
setup = "CREATE TABLE IF NOT EXISTS registered_users (id text PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL, country text NOT NULL)"

[[handlers.users.statements]]
on = "UserRegistered"
version = 3
sql = "INSERT INTO registered_users (id, first_name, last_name, email, country) VALUES ($1, $2, $3, $4, $5)"
params = ["stream_id", "data.first_name", "data.last_name", "data.email", "data.country"]

[[handlers.users.statements]]
on = "UserRegistered"
versions = "1..2"
sql = "INSERT INTO registered_users (id, first_name, last_name, email, country) VALUES ('never', '', '', '', '')"
)toml";

std::int64_t users_checkpoint(const TestDatabase& db) {
  return db.query_int("SELECT coalesce((SELECT position FROM projectord.checkpoints WHERE handler = 'users'), -1)");
}

std::int64_t journal_head(const TestDatabase& db) { return db.query_int("SELECT max(id) FROM event_journal"); }

// Rows of registered_users and the expected model that are not in both.
std::int64_t differences(const TestDatabase& db) {
  const std::string expected = expected_rows_sql();
  return db.query_int("SELECT count(*) FROM ((SELECT * FROM registered_users EXCEPT " + expected + ") UNION ALL (" +
                      expected + " EXCEPT SELECT * FROM registered_users)) differing");
}

}  // namespace

TEST_CASE("a history of v1, v2 and v3 events is projected by version 3 statements through the upcast chain, live"
          " and rebuilt alike") {
  TestDatabase db;
  db.exec(kEventJournalDdl);
  db.exec(history());
  const std::string config = migrated(db, "versioned-events.toml", kVersionedConfig);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, {{"TEST_DATABASE_URL", db.url()}});
  REQUIRE(eventually([&] { return users_checkpoint(db) == journal_head(db); }, 60s));
  INFO(daemon.log());
  CHECK(db.query_int("SELECT count(*) FROM registered_users") == kUsers);
  CHECK(differences(db) == 0);

  const Endpoint endpoint(daemon);
  REQUIRE(endpoint.post("/admin/rebuild/users").status == 202);
  REQUIRE(eventually([&] { return daemon.log().find("event=rebuild_ended swapped=true") != std::string::npos; }, 60s));
  REQUIRE(eventually([&] { return users_checkpoint(db) == journal_head(db); }));
  CHECK(db.query_int("SELECT count(*) FROM registered_users") == kUsers);
  CHECK(differences(db) == 0);

  // A v2 event whose name is no string: the split cannot apply, the event is dead-lettered, the lane goes on.
  db.exec(insert_sql("user-odd", "2", R"({"name":42,"email":"odd@example.org"})") +
          insert_sql("user-after", "3",
                     R"({"first_name":"After","last_name":"Odd","email":"after@example.org","country":"NL"})"));
  REQUIRE(eventually([&] { return users_checkpoint(db) == journal_head(db); }));
  const auto odd = db.query_int("SELECT id FROM event_journal WHERE aggregate_id = 'user-odd'");
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters WHERE handler = 'users'") ==
        "source journal position " + std::to_string(odd) +
            ": upcast of line 18 (UserRegistered from version 2) cannot apply: split name: 'name' is not a string");
  CHECK(db.query_int("SELECT count(*) FROM registered_users WHERE id = 'user-after'") == 1);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
