// The projectord binary fed events whose stream id, type and payload fields hold SQL injection payloads, from a
// generic store with text columns: a `sql` handler and the `users` handler store them byte for byte, and
// every table the payloads name is still there.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::TestDatabase;
using namespace projectord::testing::blackbox;

namespace {

// Each at most 30 characters, the users model's narrowest column (first_name, last_name).
const std::vector<std::string> kPayloads{
    "'; DROP TABLE users; --",
    "$1",
    "\\",
    "\\'; SELECT 1; --",
    "\"",
    "\"); DROP TABLE verbatim; --",
    "' OR '1'='1",
    "$$; DROP TABLE users; $$",
    "E'\\x00'",
    "%s %n {0} ${TEST_DATABASE_URL}",
    "Zo\xc3\xab \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac \xe2\x80\xae\xd7\xa9",
};

// Long enough for any buffer a quoting bug would overrun, and ending in a payload too.
const std::string kLong = std::string(100000, 'x') + "'; DROP TABLE users; --";

const std::string kInjectionConfig = R"toml([database]
url = "${TEST_DATABASE_URL}"

[http]
listen = "127.0.0.1:0"

[sources.store]
preset = "generic"
table = "injected_events"
position_column = "id"
stream_id_column = "stream_id"
version_column = "version"
type_column = "type"
payload_column = "data"
poll_interval = "50ms"
hole_grace = "50ms"

[handlers.users]
kind = "users"
source = "store"
table = "user_projection"

[handlers.verbatim]
kind = "sql"
source = "store"
setup = "CREATE TABLE IF NOT EXISTS verbatim (position bigint PRIMARY KEY, stream_id text, type text, username text, email text, first_name text, last_name text, note text)"

[[handlers.verbatim.statements]]
on = "UserRegistered"
sql = "INSERT INTO verbatim (position, stream_id, type, username, email, first_name, last_name, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
params = ["position", "stream_id", "type", "data.username", "data.email", "data.first_name", "data.last_name", "data.note"]
)toml";

struct Written {
  std::string stream_id;
  std::string type;
  std::string note;
};

// One registration per payload, the payload in every field (the type ends in the class the handlers match).
std::vector<Written> write_injected_events(const TestDatabase& db) {
  std::vector<Written> written;
  pqxx::connection connection(db.url());
  pqxx::work txn(connection);
  for (const std::string& payload : kPayloads) {
    Written event{payload, payload + ".UserRegistered", payload + kLong};
    const boost::json::object data{{"username", payload}, {"email", payload},  {"first_name", payload},
                                   {"last_name", payload}, {"note", event.note}};
    txn.exec_params("INSERT INTO injected_events (stream_id, version, type, data) VALUES ($1, 1, $2, $3::jsonb)",
                    event.stream_id, event.type, boost::json::serialize(data));
    written.push_back(std::move(event));
  }
  txn.commit();
  return written;
}

bool table_exists(const TestDatabase& db, const std::string& name) {
  return db.query_value("SELECT to_regclass('" + name + "') IS NOT NULL") == "t";
}

}  // namespace

TEST_CASE("SQL metacharacters in an event's stream id, type and payload are stored verbatim by sql and users handlers") {
  TestDatabase db;
  db.exec("CREATE TABLE injected_events (id bigserial PRIMARY KEY, stream_id text NOT NULL, version integer NOT NULL,"
          " type text NOT NULL, data jsonb NOT NULL)");
  // What the payloads would drop, with a row that must survive.
  db.exec("CREATE TABLE users (id integer PRIMARY KEY)");
  db.exec("INSERT INTO users VALUES (1)");
  const std::vector<Written> written = write_injected_events(db);
  const auto count = static_cast<std::int64_t>(written.size());

  const std::string config = migrated(db, "injection.toml", kInjectionConfig);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const auto caught_up = [&] {
    return db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE position = " + std::to_string(count)) == 2;
  };
  REQUIRE(eventually(caught_up));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);

  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters") == 0);
  pqxx::connection connection(db.url());
  pqxx::read_transaction txn(connection);
  const pqxx::result verbatim = txn.exec(
      "SELECT stream_id, type, username, email, first_name, last_name, note FROM verbatim ORDER BY position");
  REQUIRE(verbatim.size() == written.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    INFO("event " << i + 1 << ": " << kPayloads[i]);
    const auto row = verbatim[static_cast<pqxx::result::size_type>(i)];
    CHECK(row[0].as<std::string>() == written[i].stream_id);
    CHECK(row[1].as<std::string>() == written[i].type);
    for (const int column : {2, 3, 4, 5}) CHECK(row[column].as<std::string>() == kPayloads[i]);
    CHECK(row[6].as<std::string>() == written[i].note);
  }

  std::map<std::string, std::vector<std::string>> users;
  for (const auto& row : txn.exec("SELECT user_id, username, email, first_name, last_name FROM user_projection")) {
    users[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                                       row[4].as<std::string>()};
  }
  CHECK(users.size() == written.size());
  for (const std::string& payload : kPayloads) {
    INFO(payload);
    CHECK(users[payload] == std::vector<std::string>(4, payload));
  }

  for (const std::string table : {"users", "verbatim", "user_projection", "injected_events", "projectord.checkpoints",
                                  "projectord.dead_letters"}) {
    INFO(table);
    CHECK(table_exists(db, table));
  }
  CHECK(db.query_int("SELECT count(*) FROM users") == 1);
}
