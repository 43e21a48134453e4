// The projectord binary fed adversarial events: from the demo store (eventsourcing_django's `stored_events`,
// plain and zlib'd JSON in its bytea column), from a generic store's text, json and jsonb payload columns, and
// from a Redis stream. Each bad event ends as the policy says (applied, a dead letter whose error names the
// position and the fault, or a halt at its position), the log says so, /healthz answers, the events after it
// are applied, a webhook receiver only ever gets JSON, and the read models hold exactly what the accepted
// events make.
#include <zlib.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::RedisServer;
using projectord::testing::ScriptedResponse;
using projectord::testing::TestDatabase;
using projectord::testing::WebhookReceiver;

namespace {

const std::string kTenMegabytes(10 * 1024 * 1024, 'x');

// One adversarial event of the demo store and what each handler makes of it. A decode error reaches every
// handler alike: `users` halts on it, the others dead-letter it.
struct Input {
  std::string name;
  std::string type;  // the class name; the topic is "users.domain:" + type
  std::string payload;
  std::string decode_error;  // empty: the payload decodes
  std::string users_error;   // what users (on_error stop) halts with, when the payload decodes
  std::string log_error;     // user_log's dead letter
  std::string sql_error;     // verbatim's dead letter
  std::string username;      // what verbatim and users store, for registrations applied
};

std::string registration(const std::string& username, const std::string& extra = "") {
  return R"({"username":")" + username + R"(","email":"e@example.com","first_name":"F","last_name":"L")" + extra + "}";
}

std::string nested(std::size_t depth) { return "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}"; }

std::vector<Input> demo_inputs() {
  return {
      {"SQL metacharacters", "UserRegistered",
       R"({"username":"'; DROP TABLE users; --","email":"$1 \\ \" $$","first_name":"' OR '1'='1","last_name":"E'\\\\x00'","note":"%s ${TEST_DATABASE_URL}"})",
       "", "", "", "", "'; DROP TABLE users; --"},
      {"invalid UTF-8 in a string", "UserRegistered", registration("bad\xff\xfe"), "invalid JSON at offset 16", "", "",
       "", ""},
      {"a raw NUL byte in a string", "UserRegistered", registration(std::string("nul\0byte", 8)),
       "invalid JSON at offset 16", "", "", "", ""},
      {"an escaped NUL in a string", "UserRegistered", registration("nul\\u0000escaped"), "",
       "invalid byte sequence for encoding \"UTF8\": 0x00", "unsupported Unicode escape sequence",
       "parameter $4 (data.username) holds a NUL byte", ""},
      {"a 10 MB payload", "UserRegistered", registration("big", R"(,"note":")" + kTenMegabytes + "\""), "", "", "", "",
       "big"},
      {"JSON nested 100,000 deep", "UserRegistered", nested(100000), "JSON nested deeper than 1000 levels", "", "", "",
       ""},
      {"integers beyond 64 bits", "UserRegistered",
       registration("wide", R"(,"note":123456789012345678901234567890,"low":-9223372036854775809)"), "", "", "", "",
       "wide"},
      {"a number beyond a double", "UserRegistered", registration("huge", R"(,"note":1e400)"),
       "payload holds a number beyond the range of a double", "", "", "", ""},
      {"NaN", "UserRegistered", registration("nan1", R"(,"note":NaN)"), "invalid JSON at offset", "", "", "", ""},
      {"Infinity", "UserRegistered", registration("inf", R"(,"note":Infinity)"), "invalid JSON at offset", "", "", "",
       ""},
      {"-Infinity", "UserRegistered", registration("ninf", R"(,"note":-Infinity)"), "invalid JSON at offset", "", "",
       "", ""},
      {"nan", "UserRegistered", registration("nan2", R"(,"note":nan)"), "invalid JSON at offset", "", "", "", ""},
      {"duplicate keys", "UserRegistered", registration("first", R"(,"username":"second")"), "", "", "", "", "second"},
      {"an unknown type", "SomethingUnheardOf", R"({"x":1})", "", "", "", "", ""},
      {"missing fields", "UserRegistered", "{}", "", "null value in column \"username\"", "", "", ""},
      {"a null payload", "UserRegistered", "null", "payload is not a JSON object", "", "", "", ""},
      {"an array payload", "UserRegistered", "[1,2]", "payload is not a JSON object", "", "", "", ""},
      {"a string payload", "UserRegistered", "\"text\"", "payload is not a JSON object", "", "", "", ""},
      {"a number payload", "UserRegistered", "42", "payload is not a JSON object", "", "", "", ""},
      {"an empty payload", "UserRegistered", "", "", "", "", "", ""},  // its error depends on the codec
      {"the good event after them", "UserRegistered", registration("good"), "", "", "", "", "good"},
  };
}

std::string zlib(const std::string& text) {
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::string out(size, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(text.data()),
                    static_cast<uLong>(text.size()), Z_BEST_SPEED) == Z_OK);
  out.resize(size);
  return out;
}

// The stored row's position.
std::int64_t insert_stored_event(const TestDatabase& db, const std::string& stream_id, const std::string& topic,
                                 const std::string& state) {
  auto connection = db.connect();
  pqxx::work txn(*connection);
  const auto id = txn.exec_params1(
                         "INSERT INTO stored_events (application_name, originator_id, originator_version,"
                         " topic, state) VALUES ('Shop', $1::uuid, 1, $2, $3) RETURNING id",
                         stream_id, topic, pqxx::binarystring(state))[0]
                      .as<std::int64_t>();
  txn.commit();
  return id;
}

std::string uuid_for(std::size_t i) {
  const std::string digits = std::to_string(i);
  return "00000000-0000-4000-8000-" + std::string(12 - digits.size(), '0') + digits;
}

std::string handlers_toml(unsigned short webhook_port) {
  return "\n[handlers.verbatim]\nkind = \"sql\"\non_error = \"dead_letter\"\nmax_attempts = 1\n"
         "setup = \"CREATE TABLE IF NOT EXISTS verbatim (position bigint PRIMARY KEY, stream_id text, type text,"
         " username text, note text)\"\n\n"
         "[[handlers.verbatim.statements]]\non = \"UserRegistered\"\n"
         "sql = \"INSERT INTO verbatim (position, stream_id, type, username, note) VALUES ($1, $2, $3, $4, $5)\"\n"
         "params = [\"position\", \"stream_id\", \"type\", \"data.username\", \"data.note\"]\n\n"
         "[handlers.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
         std::to_string(webhook_port) + "/events\"\non_error = \"dead_letter\"\nmax_attempts = 1\n";
}

// Every handler but users tries once: the errors are the event's, no retry would help.
std::string demo_adversarial_config(const std::string& codec, unsigned short webhook_port) {
  std::string config = with_admin_token(demo_config("", "", codec));
  const std::string users_table = "table = \"user_projection\"\n";
  config.insert(config.find(users_table) + users_table.size(), "max_attempts = 1\n");
  const std::string log_table = "table = \"user_event_log\"\n";
  config.insert(config.find(log_table) + log_table.size(), "max_attempts = 1\n");
  return config + handlers_toml(webhook_port);
}

std::optional<std::string> dead_letter_error(const TestDatabase& db, const std::string& handler,
                                             std::int64_t position) {
  auto connection = db.connect();
  pqxx::read_transaction txn(*connection);
  const auto rows = txn.exec_params("SELECT error FROM projectord.dead_letters WHERE handler = $1 AND position = $2",
                                    handler, position);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

bool logged(const DaemonProcess& daemon, const std::string& handler, const std::string& what, std::int64_t position) {
  return daemon.log().find("handler=" + handler + " event=" + what + " position=" + std::to_string(position) + " ") !=
         std::string::npos;
}

// Checks a dead-letter handler's outcome for the event at `position`: applied, or a dead letter naming the
// position and `error`, logged with the handler's name and the position.
void check_outcome(const TestDatabase& db, const DaemonProcess& daemon, const std::string& handler,
                   std::int64_t position, const std::string& error) {
  INFO("handler " << handler << " at position " << position);
  const auto letter = dead_letter_error(db, handler, position);
  if (error.empty()) {
    CHECK_FALSE(letter.has_value());
    CHECK_FALSE(logged(daemon, handler, "dead_letter", position));
    return;
  }
  REQUIRE(letter.has_value());
  CHECK_THAT(*letter, Catch::Contains(error));
  CHECK(logged(daemon, handler, "dead_letter", position));
}

// Positions of the events the receiver got, every body checked to be JSON that names its event.
std::set<std::int64_t> delivered(const WebhookReceiver& receiver) {
  std::set<std::int64_t> positions;
  for (const auto& request : receiver.requests()) {
    boost::json::error_code ec;
    const boost::json::value body = boost::json::parse(request.body, ec);
    INFO(request.headers.at("idempotency-key"));
    REQUIRE_FALSE(ec);
    positions.insert(body.at("position").as_int64());
  }
  return positions;
}

}  // namespace

TEST_CASE(
    "adversarial events of the demo store end applied, dead-lettered or halted at their position, and the "
    "daemon goes on") {
  const std::string codec = GENERATE(as<std::string>{}, "eventsourcing_json", "eventsourcing_json_zlib");
  INFO("codec " << codec);
  const bool zlibbed = codec == "eventsourcing_json_zlib";
  TestDatabase db;
  // The demo writer's own events first, in the codec under test: the events a bad one must not harm.
  std::vector<std::string> writer{kWriter, "--url", db.url(), "--events", "3"};
  if (zlibbed) writer.emplace_back("--zlib");
  REQUIRE(projectord::testing::run_command(writer).exit_code == 0);
  const std::int64_t written = head(db);
  WebhookReceiver receiver([](std::size_t, const auto&) { return ScriptedResponse{}; });
  const std::string config = migrated(db, "adversarial-demo.toml", demo_adversarial_config(codec, receiver.port()));
  db.exec("CREATE TABLE users (id integer PRIMARY KEY)");  // what the metacharacters would drop
  db.exec("INSERT INTO users VALUES (1)");

  std::vector<Input> inputs = demo_inputs();
  std::vector<std::int64_t> positions;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Input& input = inputs[i];
    if (input.name == "an empty payload") {
      input.decode_error = zlibbed ? "zlib: truncated stream" : "invalid JSON at offset 0: incomplete JSON";
    }
    const std::string topic =
        (input.name == "SQL metacharacters" ? "'; DROP TABLE verbatim; --." : "users.domain:") + input.type;
    const std::string state = zlibbed && !input.payload.empty() ? zlib(input.payload) : input.payload;
    positions.push_back(insert_stored_event(db, uuid_for(i), topic, state));
  }

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon, kAdminToken);
  // users halts on each event it cannot apply; an operator's skip makes it a dead letter and it goes on.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Input& input = inputs[i];
    const std::string error = input.decode_error.empty() ? input.users_error : input.decode_error;
    if (error.empty()) continue;
    INFO(input.name << " at position " << positions[i]);
    const bool halted = eventually(
        [&] {
          const auto* halted_at = http.handler("users").if_contains("halted_at");
          return halted_at != nullptr && *halted_at == positions[i];
        },
        30s);
    INFO("users: " << boost::json::serialize(http.handler("users")));
    REQUIRE(halted);
    CHECK_THAT(std::string(http.handler("users").at("last_error").as_string()), Catch::Contains(error));
    CHECK(logged(daemon, "users", "halted", positions[i]));
    CHECK(http.get("/healthz").status == 200);
    REQUIRE(http.post("/admin/skip/users").status == 202);
  }
  REQUIRE(eventually(
      [&] {
        for (const std::string handler : {"users", "user_log", "verbatim", "hook"}) {
          if (http.position(handler) != head(db)) return false;
        }
        return true;
      },
      60s));
  CHECK(http.get("/healthz").status == 200);

  const std::set<std::int64_t> hooked = delivered(receiver);
  std::set<std::int64_t> expected_hooked;
  for (std::int64_t p = 1; p <= written; ++p) expected_hooked.insert(p);
  std::map<std::int64_t, std::string> expected_verbatim;
  std::set<std::int64_t> expected_logged(expected_hooked);
  std::map<std::string, std::string> expected_users;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Input& input = inputs[i];
    const std::int64_t position = positions[i];
    INFO(input.name << " at position " << position);
    const auto all_or = [&](const std::string& own) { return input.decode_error.empty() ? own : input.decode_error; };
    check_outcome(db, daemon, "user_log", position, all_or(input.log_error));
    check_outcome(db, daemon, "verbatim", position, all_or(input.sql_error));
    check_outcome(db, daemon, "hook", position, input.decode_error);
    if (input.decode_error.empty()) {
      expected_hooked.insert(position);
      if (input.log_error.empty()) expected_logged.insert(position);
      if (input.type == "UserRegistered" && input.sql_error.empty()) expected_verbatim[position] = input.username;
      if (input.type == "UserRegistered" && input.users_error.empty() && !input.username.empty()) {
        expected_users[uuid_for(i)] = input.username;
      }
    }
  }
  CHECK(hooked == expected_hooked);

  std::set<std::int64_t> logged_positions;
  {
    auto connection = db.connect();
    pqxx::read_transaction txn(*connection);
    for (const auto& row : txn.exec("SELECT global_position FROM user_event_log")) {
      logged_positions.insert(row[0].as<std::int64_t>());
    }
    std::map<std::int64_t, std::string> verbatim;
    for (const auto& row : txn.exec("SELECT position, coalesce(username, '') FROM verbatim")) {
      verbatim[row[0].as<std::int64_t>()] = row[1].as<std::string>();
    }
    for (std::int64_t p = 1; p <= written; ++p) verbatim.erase(p);  // the demo writer's own registrations
    CHECK(verbatim == expected_verbatim);
    std::map<std::string, std::string> users;
    for (const auto& row : txn.exec("SELECT user_id, username FROM user_projection WHERE user_id LIKE '00000000-%'")) {
      users[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    CHECK(users == expected_users);
    const std::int64_t writer_users = db.query_int(
        "SELECT count(*) FROM stored_events WHERE topic LIKE '%:UserRegistered' AND id <= " + std::to_string(written));
    CHECK(txn.exec1("SELECT count(*) FROM user_projection")[0].as<std::int64_t>() ==
          writer_users + static_cast<std::int64_t>(expected_users.size()));
    CHECK(txn.exec1("SELECT count(*) FROM users")[0].as<int>() == 1);
    CHECK(txn.exec1("SELECT length(note) FROM verbatim WHERE username = 'big'")[0].as<std::size_t>() ==
          kTenMegabytes.size());
    CHECK(txn.exec1("SELECT note FROM verbatim WHERE username = 'wide'")[0].as<std::string>() ==
          "1.2345678901234568E29");
  }
  CHECK(logged_positions == expected_logged);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

namespace {

// One adversarial entry of the Redis stream, its fields as a Lua table constructor (Lua's "\0" and "\255"
// escapes put any byte in), and each handler's outcome as for the demo store.
struct Entry {
  std::string name;
  std::string fields;
  std::string decode_error;
  std::string log_error;
  std::string sql_error;
};

const std::string kRegistered = "'type', 'users.events:UserRegistered', 'version', '1', ";

std::vector<Entry> redis_entries() {
  return {
      {"a NUL byte in the type", "'type', 'users.events:UserRegistered\\0x', 'stream_id', 'u-1', 'data', '{}'",
       "field 'type' is not UTF-8 text without NUL bytes: 'users.events:UserRegistered\\x00x'", "", ""},
      {"invalid UTF-8 in the stream id",
       "'type', 'users.events:UserRegistered', 'stream_id', 'u\\255\\254', 'data', '{}'",
       "field 'stream_id' is not UTF-8 text without NUL bytes: 'u\\xff\\xfe'", "", ""},
      {"invalid UTF-8 in the version", "'type', 'users.events:UserRegistered', 'version', '\\255', 'data', '{}'",
       "field 'version' is not a 64-bit integer: '\\xff'", "", ""},
      {"a raw NUL byte in the data", kRegistered + "'stream_id', 'u-4', 'data', '{\"username\":\"a\\0b\"}'",
       "field 'data' (JSON object text): invalid JSON at offset 14", "", ""},
      {"invalid UTF-8 in the data", kRegistered + "'stream_id', 'u-5', 'data', '{\"username\":\"a\\255b\"}'",
       "field 'data' (JSON object text): invalid JSON at offset 14", "", ""},
      {"an escaped NUL in the data", kRegistered + "'stream_id', 'u-6', 'data', '{\"username\":\"a\\\\u0000b\"}'", "",
       "unsupported Unicode escape sequence", "parameter $4 (data.username) holds a NUL byte"},
      {"a 10 MB entry",
       kRegistered + "'stream_id', 'u-7', 'data', '{\"username\":\"big\",\"note\":\"' .. "
                     "string.rep('x', 10 * 1024 * 1024) .. '\"}'",
       "", "", ""},
      {"an entry over max_event_bytes",
       kRegistered + "'stream_id', 'u-8', 'data', '{\"note\":\"' .. "
                     "string.rep('x', 17 * 1024 * 1024) .. '\"}'",
       "field 'data' (JSON object text): payload of 17825803 bytes is over max_event_bytes (16MiB)", "", ""},
      {"an unmapped field of NUL and invalid UTF-8",
       kRegistered + "'stream_id', 'u-9', 'data', '{\"username\":\"odd\"}', '\\255\\0k', '\\0\\255'", "", "", ""},
      {"a missing data field beside one of NUL and invalid UTF-8",
       kRegistered + "'stream_id', 'u-10', 'junk', '\\0\\255'", "field 'data' is missing", "", ""},
      {"the good entry after them", kRegistered + "'stream_id', 'u-11', 'data', '{\"username\":\"good\"}'", "", "", ""},
  };
}

// Entry i (from 1) has the id 1-i, whose position is 1 << 21 | i.
std::int64_t redis_position(std::size_t i) { return (std::int64_t{1} << 21) | static_cast<std::int64_t>(i); }

}  // namespace

TEST_CASE(
    "adversarial Redis stream entries (NUL bytes, invalid UTF-8, huge fields) end applied or dead-lettered, "
    "and the daemon goes on",
    "[redis]") {
  TestDatabase db;
  RedisServer redis;
  WebhookReceiver receiver([](std::size_t, const auto&) { return ScriptedResponse{}; });
  const std::string config_text =
      "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"" + kAdminToken +
      "\"\n\n[sources.users]\nkind = \"redis\"\nurl = \"${TEST_REDIS_URL}\"\nstream = \"user-events\"\n"
      "consumer = \"a\"\nblock = \"200ms\"\nbatch_size = 100\n\n"
      "[handlers.user_log]\nkind = \"event_log\"\ntable = \"user_event_log\"\non_error = \"dead_letter\"\n"
      "max_attempts = 1\n" +
      handlers_toml(receiver.port());
  auto env = env_for(db);
  env["TEST_REDIS_URL"] = redis.url();
  const std::string config = write_file("adversarial-redis.toml", config_text);
  REQUIRE(projectord::testing::run_command({kBinary, "--config", config, "migrate"}, env).exit_code == 0);

  const std::vector<Entry> entries = redis_entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string script =
        "redis.call('XADD', KEYS[1], '1-" + std::to_string(i + 1) + "', " + entries[i].fields + ") return 1";
    INFO(entries[i].name);
    REQUIRE(redis.cli({"EVAL", script, "1", "user-events"}) == "1");
  }

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  const Endpoint http(daemon, kAdminToken);
  const std::int64_t last = redis_position(entries.size());
  REQUIRE(eventually(
      [&] {
        for (const std::string handler : {"user_log", "verbatim", "hook"}) {
          if (http.position(handler) != last) return false;
        }
        return true;
      },
      60s));
  CHECK(http.get("/healthz").status == 200);

  std::set<std::int64_t> expected_hooked;
  std::set<std::int64_t> expected_logged;
  std::set<std::int64_t> expected_verbatim;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    const std::int64_t position = redis_position(i + 1);
    INFO(entry.name << " at position " << position);
    const std::string fault =
        entry.decode_error.empty() ? "" : "source users entry 1-" + std::to_string(i + 1) + ": " + entry.decode_error;
    const auto all_or = [&](const std::string& own) { return fault.empty() ? own : fault; };
    check_outcome(db, daemon, "user_log", position, all_or(entry.log_error));
    check_outcome(db, daemon, "verbatim", position, all_or(entry.sql_error));
    check_outcome(db, daemon, "hook", position, fault);
    if (fault.empty()) {
      expected_hooked.insert(position);
      if (entry.log_error.empty()) expected_logged.insert(position);
      if (entry.sql_error.empty()) expected_verbatim.insert(position);
    }
  }
  CHECK(delivered(receiver) == expected_hooked);
  // A poison entry's dead letter shows its fields, the bytes no text column takes escaped.
  CHECK(db.query_value("SELECT payload FROM projectord.dead_letters WHERE handler = 'user_log' AND position = " +
                       std::to_string(redis_position(10))) ==
        R"({"type":"users.events:UserRegistered","version":"1","stream_id":"u-10","junk":"\\x00\\xff"})");
  CHECK(db.query_value("SELECT stream_id FROM projectord.dead_letters WHERE handler = 'user_log' AND position = " +
                       std::to_string(redis_position(2))) == "u\\xff\\xfe");

  auto connection = db.connect();
  pqxx::read_transaction txn(*connection);
  std::set<std::int64_t> logged_positions;
  for (const auto& row : txn.exec("SELECT global_position FROM user_event_log")) {
    logged_positions.insert(row[0].as<std::int64_t>());
  }
  CHECK(logged_positions == expected_logged);
  std::set<std::int64_t> verbatim;
  for (const auto& row : txn.exec("SELECT position FROM verbatim")) verbatim.insert(row[0].as<std::int64_t>());
  CHECK(verbatim == expected_verbatim);
  CHECK(txn.exec1("SELECT length(note) FROM verbatim WHERE username = 'big'")[0].as<std::size_t>() ==
        kTenMegabytes.size());
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE(
    "a generic store's payload column type decides which adversarial payloads get in, and the daemon decodes "
    "those as the demo store's") {
  const std::vector<std::string> column_types{"text", "json", "jsonb"};
  TestDatabase db;
  std::string config_text = "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n";
  for (const std::string& type : column_types) {
    db.exec("CREATE TABLE events_" + type + " (id bigserial PRIMARY KEY, type text NOT NULL, data " + type +
            " NOT NULL)");
    config_text += "\n[sources." + type + "]\npreset = \"generic\"\ntable = \"events_" + type +
                   "\"\nposition_column = \"id\"\ntype_column = \"type\"\npayload_column = \"data\"\n"
                   "poll_interval = \"50ms\"\nhole_grace = \"50ms\"\n\n[handlers.log_" +
                   type + "]\nkind = \"event_log\"\nsource = \"" + type + "\"\ntable = \"log_" + type +
                   "\"\non_error = \"dead_letter\"\nmax_attempts = 1\n";
  }
  const std::string config = migrated(db, "adversarial-generic.toml", config_text);

  // Which payloads each column type refuses: PostgreSQL's text takes no NUL and no malformed UTF-8, json takes
  // JSON text only (and only as deep as its parser's stack allows), jsonb no "\u0000" either.
  const std::map<std::string, std::set<std::string>> refused{
      {"invalid UTF-8 in a string", {"text", "json", "jsonb"}},
      {"a raw NUL byte in a string", {"text", "json", "jsonb"}},
      {"an escaped NUL in a string", {"jsonb"}},
      {"JSON nested 100,000 deep", {"json", "jsonb"}},  // past PostgreSQL's max_stack_depth
      {"NaN", {"json", "jsonb"}},
      {"Infinity", {"json", "jsonb"}},
      {"-Infinity", {"json", "jsonb"}},
      {"nan", {"json", "jsonb"}},
      {"an empty payload", {"json", "jsonb"}},
  };
  const std::vector<Input> inputs = demo_inputs();
  // Per column type: the position of each input the column took, by input.
  std::map<std::string, std::map<std::string, std::int64_t>> stored;
  {
    auto connection = db.connect();
    for (const std::string& type : column_types) {
      for (const Input& input : inputs) {
        INFO(input.name << " in a " << type << " column");
        pqxx::work txn(*connection);
        try {
          stored[type][input.name] =
              txn.exec_params1("INSERT INTO events_" + type +
                                   " (type, data) VALUES ($1, convert_from($2, 'UTF8')::" + type + ") RETURNING id",
                               input.type, pqxx::binarystring(input.payload))[0]
                  .as<std::int64_t>();
          txn.commit();
        } catch (const pqxx::sql_error&) {
        }
        const auto refusing = refused.find(input.name);
        CHECK((stored[type].count(input.name) == 0) == (refusing != refused.end() && refusing->second.count(type) > 0));
      }
    }
  }

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually(
      [&] {
        for (const std::string& type : column_types) {
          if (http.position("log_" + type) != db.query_int("SELECT max(id) FROM events_" + type)) return false;
        }
        return true;
      },
      60s));
  CHECK(http.get("/healthz").status == 200);

  for (const std::string& type : column_types) {
    std::set<std::int64_t> expected_logged;
    for (const Input& input : inputs) {
      const auto at = stored[type].find(input.name);
      if (at == stored[type].end()) continue;
      INFO(input.name << " in a " << type << " column");
      // jsonb prints 1e400 as the integer it is: 401 digits, still beyond a double.
      const std::string error = input.name == "an empty payload" ? "invalid JSON at offset 0: incomplete JSON"
                                : !input.decode_error.empty()    ? input.decode_error
                                                                 : input.log_error;
      check_outcome(db, daemon, "log_" + type, at->second, error);
      if (error.empty()) expected_logged.insert(at->second);
    }
    std::set<std::int64_t> logged_positions;
    auto connection = db.connect();
    pqxx::read_transaction txn(*connection);
    for (const auto& row : txn.exec("SELECT global_position FROM log_" + type)) {
      logged_positions.insert(row[0].as<std::int64_t>());
    }
    CHECK(logged_positions == expected_logged);
  }
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
