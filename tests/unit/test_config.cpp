#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/postgres/identifier.hpp"
#include "config/loader.hpp"
#include "config/notify_route.hpp"
#include "config/presets.hpp"
#include "handlers/registry.hpp"
#include "tests/support/scoped_env.hpp"
#include "tests/unit/config_text.hpp"

namespace fs = std::filesystem;
using namespace projectord::config;

using projectord::testing::error_lines;
using projectord::testing::load_config;
using projectord::testing::ScopedEnv;

namespace {

const OptionTable& options() { return projectord::handlers::option_table(); }

// Asserts that loading fails with exactly one error, and returns it.
std::string only_error(const std::string& text) {
  const LoadResult result = load_config(text);
  INFO(error_lines(result));
  REQUIRE(result.errors.size() == 1);
  return result.errors.front();
}

// The smallest valid file; tests append the tables they are about.
const std::string kDatabase = "[database]\nurl = \"postgres://projectord@localhost/app\"\n";  // lines 1-2
const std::string kShop = kDatabase + R"toml([sources.shop]
preset = "eventsourcing_django"
application_name = "Shop"
)toml";                                                                                       // lines 3-5

// A directory of its own under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("projectord-config-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
    return path / name;
  }
};

}  // namespace

TEST_CASE("a config using every preset and handler kind loads with every field filled") {
  const LoadResult result = load_config(R"toml([daemon]
log_level = "debug"
shutdown_timeout = "1min"

[database]
url = "postgres://projectord@db/app"

[sources.worlds]
preset = "eventsourcing"
url = "postgres://reader@store/worlds"
table = "public.worlds_events"
commit_order = "concurrent"
codec = "eventsourcing_json_zlib"
poll_interval = "250ms"
hole_grace = "1s"
max_hole_wait = "2min"
batch_size = 100

[sources.shop]
preset = "eventsourcing_django"
application_name = "Shop"

[sources.orders]
preset = "django_event_store"
table = "shop_eventstorerecord"
notify_channel = "orders_wakeup"

[sources.legacy]
preset = "generic"
table = "legacy.events"
position_column = "seq"
type_column = "kind"
payload_column = "body"
metadata_column = "meta"
recorded_at_column = "created"
filter_column = "tenant"
filter_value = "acme"
codec = "json_zlib"

[handlers.users]
kind = "users"
source = "shop"

[handlers.audit]
kind = "event_log"
source = "orders"
types = ["OrderPlaced", "shop.events:OrderShipped"]
on_error = "dead_letter"
max_attempts = 3
retry_backoff = "1s"
retry_backoff_max = "1min"

[handlers.totals]
kind = "sql"
source = "legacy"
setup = "CREATE TABLE IF NOT EXISTS totals (n bigint)"

[[handlers.totals.statements]]
on = "Counted"
sql = "UPDATE totals SET n = n + $1"
params = ["data.n"]

[[handlers.totals.statements]]
on = "Reset"
sql = "UPDATE totals SET n = 0"
)toml");
  INFO(error_lines(result));
  REQUIRE(result.ok());
  const Config& config = result.config;
  CHECK(config.file == "test.toml");
  CHECK(config.daemon.log_level == "debug");
  CHECK(config.daemon.shutdown_timeout == Duration{60'000});
  CHECK(config.database_url == "postgres://projectord@db/app");
  REQUIRE(config.postgres_sources.size() == 4);

  const PostgresSource& worlds = config.postgres_sources.at("worlds");
  CHECK(worlds.name == "worlds");
  CHECK(worlds.preset == "eventsourcing");
  CHECK(worlds.url == "postgres://reader@store/worlds");
  CHECK(worlds.table == "public.worlds_events");
  CHECK(worlds.position_column == "notification_id");
  CHECK(worlds.stream_id_column == "originator_id");
  CHECK(worlds.version_column == "originator_version");
  CHECK(worlds.type_column == "topic");
  CHECK(worlds.payload_column == "state");
  CHECK(worlds.metadata_column.empty());
  CHECK(worlds.recorded_at_column.empty());
  CHECK(worlds.recorded_at_path == "data.timestamp");
  CHECK(worlds.filter_column.empty());
  CHECK(worlds.codec == Codec::eventsourcing_json_zlib);
  CHECK(worlds.commit_order == CommitOrder::concurrent);
  CHECK(worlds.notify_channel == "projectord_public_worlds_events");
  CHECK(worlds.poll_interval == Duration{250});
  CHECK(worlds.hole_grace == Duration{1'000});
  CHECK(worlds.max_hole_wait == Duration{120'000});
  CHECK(worlds.batch_size == 100);

  const PostgresSource& shop = config.postgres_sources.at("shop");
  CHECK(shop.url == "postgres://projectord@db/app");
  CHECK(shop.table == "stored_events");
  CHECK(shop.position_column == "id");
  CHECK(shop.stream_id_column == "originator_id");
  CHECK(shop.version_column == "originator_version");
  CHECK(shop.type_column == "topic");
  CHECK(shop.payload_column == "state");
  CHECK(shop.recorded_at_path == "data.timestamp");
  CHECK(shop.filter_column == "application_name");
  CHECK(shop.filter_value == "Shop");
  CHECK(shop.codec == Codec::eventsourcing_json);
  CHECK(shop.commit_order == CommitOrder::serialized);
  CHECK(shop.notify_channel == "projectord_stored_events");
  CHECK(shop.poll_interval == Duration{1'000});
  CHECK(shop.hole_grace == Duration{500});
  CHECK(shop.max_hole_wait == Duration{300'000});
  CHECK(shop.batch_size == 5000);

  const PostgresSource& orders = config.postgres_sources.at("orders");
  CHECK(orders.table == "shop_eventstorerecord");
  CHECK(orders.position_column == "id");
  CHECK(orders.stream_id_column == "aggregate_id");
  CHECK(orders.version_column == "version");
  CHECK(orders.type_column == "event_type");
  CHECK(orders.payload_column == "event_data");
  CHECK(orders.recorded_at_column == "occurred_at");
  CHECK(orders.recorded_at_path.empty());
  CHECK(orders.codec == Codec::json);
  CHECK(orders.commit_order == CommitOrder::concurrent);
  CHECK(orders.notify_channel == "orders_wakeup");

  const PostgresSource& legacy = config.postgres_sources.at("legacy");
  CHECK(legacy.table == "legacy.events");
  CHECK(legacy.position_column == "seq");
  CHECK(legacy.stream_id_column.empty());
  CHECK(legacy.version_column.empty());
  CHECK(legacy.type_column == "kind");
  CHECK(legacy.payload_column == "body");
  CHECK(legacy.metadata_column == "meta");
  CHECK(legacy.recorded_at_column == "created");
  CHECK(legacy.filter_column == "tenant");
  CHECK(legacy.filter_value == "acme");
  CHECK(legacy.codec == Codec::json_zlib);
  CHECK(legacy.commit_order == CommitOrder::concurrent);
  CHECK(legacy.notify_channel == "projectord_legacy_events");

  REQUIRE(config.handlers.size() == 3);
  const Handler& users = config.handlers.at("users");
  CHECK(users.name == "users");
  CHECK(users.kind == "users");
  CHECK_FALSE(users.is_side_effect);
  CHECK(users.source == "shop");
  CHECK(users.types.empty());
  CHECK(users.on_error == OnError::stop);
  CHECK(users.max_attempts == 5);
  CHECK(users.retry_backoff == Duration{200});
  CHECK(users.retry_backoff_max == Duration{10'000});
  CHECK(users.table == "user_projection");
  CHECK(users.line == 40);

  const Handler& audit = config.handlers.at("audit");
  CHECK(audit.source == "orders");
  CHECK(audit.types == std::vector<std::string>{"OrderPlaced", "shop.events:OrderShipped"});
  CHECK(audit.on_error == OnError::dead_letter);
  CHECK(audit.max_attempts == 3);
  CHECK(audit.retry_backoff == Duration{1'000});
  CHECK(audit.retry_backoff_max == Duration{60'000});
  CHECK(audit.table == "user_event_log");

  const Handler& totals = config.handlers.at("totals");
  CHECK(totals.source == "legacy");
  CHECK(totals.table.empty());
  CHECK(totals.setup == "CREATE TABLE IF NOT EXISTS totals (n bigint)");
  REQUIRE(totals.statements.size() == 2);
  CHECK(totals.statements[0].on == "Counted");
  CHECK(totals.statements[0].sql == "UPDATE totals SET n = n + $1");
  CHECK(totals.statements[0].params == std::vector<std::string>{"data.n"});
  CHECK(totals.statements[0].line == 58);
  CHECK(totals.statements[1].on == "Reset");
  CHECK(totals.statements[1].params.empty());
  CHECK(totals.statements[1].line == 63);
}

TEST_CASE("the defaults of a minimal config are those of the option table") {
  const LoadResult result = load_config(kShop + "[handlers.users]\nkind = \"users\"\n");
  INFO(error_lines(result));
  REQUIRE(result.ok());
  CHECK(result.config.daemon.log_level == "info");
  CHECK(result.config.daemon.log_format == "text");
  CHECK(result.config.daemon.shutdown_timeout == Duration{30'000});
  // With exactly one source, a handler may leave `source` out.
  CHECK(result.config.handlers.at("users").source == "shop");
  CHECK(result.config.postgres_sources.at("shop").url == "postgres://projectord@localhost/app");
}

TEST_CASE("the example config of the demo loads") {
  const ScopedEnv url("PROJECTORD_DATABASE_URL", "postgres://projectord@localhost/shop");
  const LoadResult result = load_config(PROJECTORD_SOURCE_DIR "/examples/projectord.toml", options());
  INFO(error_lines(result));
  REQUIRE(result.ok());
  const Config& config = result.config;
  CHECK(config.database_url == "postgres://projectord@localhost/shop");
  const PostgresSource& shop = config.postgres_sources.at("shop");
  CHECK(shop.preset == "eventsourcing_django");
  CHECK(shop.filter_value == "Shop");
  CHECK(shop.codec == Codec::eventsourcing_json_zlib);
  CHECK(config.handlers.at("users").table == "user_projection");
  CHECK(config.handlers.at("user_log").table == "user_event_log");
  CHECK(config.handlers.at("user_log").on_error == OnError::dead_letter);
  const Handler& signups = config.handlers.at("signups_per_day");
  CHECK(signups.source == "shop");
  CHECK_THAT(signups.setup, Catch::StartsWith("CREATE TABLE IF NOT EXISTS signups_per_day"));
  REQUIRE(signups.statements.size() == 1);
  CHECK(signups.statements[0].on == "UserRegistered");
  CHECK(signups.statements[0].params == std::vector<std::string>{"recorded_at"});
  const RedisSource& activity = config.redis_sources.at("activity");
  CHECK(activity.stream == "user-activity");
  CHECK(config.handlers.at("page_views").source == "activity");
  const Handler& feed = config.handlers.at("user_feed");
  CHECK(feed.side_effect.stream == "user-feed");
  CHECK(feed.side_effect.fields.at("email") == "data.email");
}

TEST_CASE("an unknown key is reported with its file, line and full key") {
  CHECK(only_error(kShop + "[handlers.users]\nkind = \"users\"\ncolour = \"red\"\n") ==
        "test.toml:8: handlers.users.colour: unknown key");
  CHECK(only_error(kShop + "[metrics]\nport = 9464\n") == "test.toml:6: metrics: unknown section");
}

TEST_CASE("a listen address beyond loopback without an admin token is refused") {
  CHECK(only_error(kShop + "[http]\nlisten = \"0.0.0.0:9464\"\n") ==
        "test.toml:7: http.listen: listening on 0.0.0.0 (not loopback) needs [http] admin_token or admin_token_file");
  CHECK(load_config(kShop + "[http]\nlisten = \"0.0.0.0:9464\"\nadmin_token = \"s3cret\"\n").errors.empty());
  CHECK(load_config(kShop + "[http]\nlisten = \"[::1]:9464\"\n").errors.empty());
}

namespace {

// A [database] behind a transaction pooler with `lines` added, then the shop source (lines 3-5 are `lines`).
std::string pooled(const std::string& lines) {
  return kDatabase + "pooling = \"transaction\"\n" + lines +
         "[sources.shop]\npreset = \"eventsourcing_django\"\napplication_name = \"Shop\"\n";
}

}  // namespace

TEST_CASE("pooling is session unless set, and transaction pooling takes a PostgreSQL listen_url") {
  const LoadResult plain = load_config(kShop);
  REQUIRE(plain.errors.empty());
  CHECK(plain.config.pooling == projectord::postgres::Pooling::session);
  CHECK(plain.config.listen_url.empty());
  const LoadResult pooled_load = load_config(pooled("listen_url = \"postgres://projectord@db-direct/app\"\n"));
  INFO(error_lines(pooled_load));
  REQUIRE(pooled_load.errors.empty());
  CHECK(pooled_load.config.pooling == projectord::postgres::Pooling::transaction);
  CHECK(pooled_load.config.listen_url == "postgres://projectord@db-direct/app");
  CHECK(load_config(pooled("")).errors.empty());
}

TEST_CASE("a listen_url that is no PostgreSQL URL, or one without transaction pooling, is refused at its line") {
  CHECK_THAT(only_error(pooled("listen_url = \"redis://localhost:6379\"\n")),
             Catch::StartsWith("test.toml:4: database.listen_url: "));
  CHECK(only_error(kDatabase + "listen_url = \"postgres://projectord@db-direct/app\"\n") ==
        "test.toml:3: database.listen_url: only for pooling = \"transaction\"");
}

TEST_CASE("the control channel behind a transaction pooler needs listen_url") {
  CHECK(only_error(pooled("") + "[control]\nnotify = true\nallowed_roles = [\"ops\"]\n") ==
        "test.toml:8: control.notify: needs [database] listen_url with pooling = \"transaction\" (LISTEN does not work"
        " through a transaction pooler)");
  CHECK(load_config(pooled("listen_url = \"host=db-direct dbname=app\"\n") +
                    "[control]\nnotify = true\nallowed_roles = [\"ops\"]\n")
            .errors.empty());
}

TEST_CASE("max_connections must leave a lane its connections beside those the daemon keeps for itself") {
  // Two listened sources and the lease keeper's connection: three kept, a lane's two and one for its attempts.
  const std::string two_sources = "max_connections = 5\n[sources.shop]\npreset = \"eventsourcing_django\"\n"
                                  "application_name = \"Shop\"\n[sources.billing]\npreset = \"eventsourcing_django\"\n"
                                  "application_name = \"Billing\"\n[handlers.users]\nkind = \"users\"\nsource = \"shop\"\n"
                                  "[handlers.invoices]\nkind = \"event_log\"\nsource = \"billing\"\n";
  CHECK(only_error(kDatabase + two_sources) ==
        "test.toml:3: database.max_connections: at least 6 here: 3 kept open (the lease keeper's and the LISTENs),"
        " a lane's two and one for its attempts");
  const LoadResult enough = load_config(kDatabase + "max_connections = 6" + two_sources.substr(two_sources.find('\n')));
  INFO(error_lines(enough));
  REQUIRE(enough.errors.empty());
  CHECK(enough.config.max_connections == 6);
  CHECK(kept_connections(enough.config) == 3);
  CHECK(load_config(kShop).config.max_connections == 10);
}

TEST_CASE("LISTEN goes to the database's own url on session connections, to listen_url behind a pooler, else nowhere") {
  Config config;
  config.database_url = "host=pooler dbname=app";
  CHECK(notify_url(config, "host=pooler dbname=app") == "host=pooler dbname=app");
  CHECK(notify_url(config, "host=store dbname=events") == "host=store dbname=events");
  config.pooling = projectord::postgres::Pooling::transaction;
  CHECK_FALSE(notify_url(config, "host=pooler dbname=app"));
  config.listen_url = "host=db-direct dbname=app";
  CHECK(notify_url(config, "host=pooler dbname=app") == "host=db-direct dbname=app");
  CHECK_FALSE(notify_url(config, "host=store dbname=events"));  // another database: its readers poll
}

TEST_CASE("a signed webhook over plain http is refused unless allow_plain_http is set") {
  const std::string hook = kShop + "[handlers.hook]\nkind = \"webhook\"\nurl = \"http://hooks.internal/x\"\n"
                                   "secret = \"s3cret\"\n";
  CHECK(only_error(hook) ==
        "test.toml:8: handlers.hook.url: a signed webhook over plain http can be read and replayed on the way: use"
        " https, or set allow_plain_http = true on a trusted network");
  CHECK(load_config(hook + "allow_plain_http = true\n").errors.empty());
  CHECK(load_config(kShop + "[handlers.hook]\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\nsecret = \"s\"\n")
            .errors.empty());
}

TEST_CASE("a value of the wrong type is reported with the expected and the actual type") {
  CHECK(only_error(kShop + "batch_size = \"big\"\n") ==
        "test.toml:6: sources.shop.batch_size: expected integer, got string");
  CHECK(only_error(kShop + "poll_interval = 5\n") ==
        "test.toml:6: sources.shop.poll_interval: expected duration string like \"1s\", got integer");
  CHECK(only_error(kShop + "[handlers.users]\nkind = \"users\"\ntypes = \"UserRegistered\"\n") ==
        "test.toml:8: handlers.users.types: expected array of strings, got string");
  CHECK(only_error(kShop + "[handlers.users]\nkind = \"users\"\ntypes = [\"A\", 2]\n") ==
        "test.toml:8: handlers.users.types: element 1: expected string, got integer");
  CHECK(only_error("sources = 3\n" + kDatabase) == "test.toml:1: sources: expected table, got integer");
}

TEST_CASE("a missing required key is reported at its table's header") {
  CHECK(only_error(kShop + "\n[handlers.users]\ntable = \"people\"\n") == "test.toml:7: handlers.users.kind: required");
  CHECK(only_error("[sources.shop]\npreset = \"generic\"\ntable = \"t\"\nposition_column = \"p\"\n"
                   "type_column = \"t\"\npayload_column = \"b\"\n") == "test.toml: database.url: required");
  CHECK(only_error(kDatabase + "[sources.shop]\npreset = \"eventsourcing_django\"\n") ==
        "test.toml:3: sources.shop.application_name: required for preset eventsourcing_django");
}

TEST_CASE("presets that cannot guess the table or columns require them") {
  const LoadResult generic = load_config(kDatabase + "[sources.legacy]\npreset = \"generic\"\ntable = \"events\"\n");
  CHECK(generic.errors == std::vector<std::string>{
                              "test.toml:3: sources.legacy.position_column: required for preset generic",
                              "test.toml:3: sources.legacy.type_column: required for preset generic",
                              "test.toml:3: sources.legacy.payload_column: required for preset generic",
                          });
  CHECK(only_error(kDatabase + "[sources.orders]\npreset = \"django_event_store\"\n") ==
        "test.toml:3: sources.orders.table: required for preset django_event_store");
}

TEST_CASE("a value outside its enumeration or range is rejected with the allowed values") {
  CHECK(only_error(kShop + "[handlers.users]\nkind = \"users\"\non_error = \"retry\"\n") ==
        "test.toml:8: handlers.users.on_error: expected one of stop, dead_letter, got \"retry\"");
  CHECK(only_error(kShop + "codec = \"gzip\"\n") ==
        "test.toml:6: sources.shop.codec: expected one of json, json_zlib, eventsourcing_json, "
        "eventsourcing_json_zlib, eventsourcing_json_aes, eventsourcing_json_zlib_aes, got \"gzip\"");
  CHECK(only_error(kShop + "batch_size = 0\n") ==
        "test.toml:6: sources.shop.batch_size: must be between 1 and 100000, got 0");
  CHECK(only_error(kShop + "[handlers.users]\nkind = \"users\"\nmax_attempts = 0\n") ==
        "test.toml:8: handlers.users.max_attempts: must be between 1 and 1000, got 0");
  CHECK(only_error("[daemon]\nlog_level = \"verbose\"\n" + kShop) ==
        "test.toml:2: daemon.log_level: expected one of trace, debug, info, warn, error, got \"verbose\"");
  CHECK(only_error("[daemon]\nlog_format = \"logfmt\"\n" + kShop) ==
        "test.toml:2: daemon.log_format: expected one of text, json, got \"logfmt\"");
}

TEST_CASE("a bad duration names the key and the reason") {
  CHECK(only_error(kShop + "hole_grace = \"5m\"\n") ==
        "test.toml:6: sources.shop.hole_grace: duration \"5m\" has unknown unit \"m\": use ms, s, min or h");
  CHECK(only_error(kShop + "poll_interval = \"0\"\n") ==
        "test.toml:6: sources.shop.poll_interval: must be more than 0");
  CHECK(only_error(kShop + "[handlers.users]\nkind = \"users\"\nretry_backoff = \"1min\"\n") ==
        "test.toml:6: handlers.users.retry_backoff_max: must be at least retry_backoff (1min)");
  CHECK_THAT(only_error("[daemon]\nlease_length = \"1s\"\n" + kShop),
             Catch::EndsWith("daemon.lease_renew_interval: must be shorter than lease_length"));
}

TEST_CASE("a process pinned to handlers names handlers of its file") {
  const std::string users = "[handlers.users]\nkind = \"users\"\n";
  CHECK(only_error("[daemon]\nhandlers = [\"users\", \"orders\"]\n" + kShop + users) ==
        "test.toml:2: daemon.handlers: orders is not a handler of this file");
  const auto loaded = load_config("[daemon]\nhandlers = [\"users\"]\n" + kShop + users);
  REQUIRE(loaded.errors.empty());
  CHECK(loaded.config.daemon.handlers == std::vector<std::string>{"users"});
}

TEST_CASE("table and column names must be identifiers that can be quoted safely") {
  const std::string generic = kDatabase +
                              "[sources.legacy]\npreset = \"generic\"\nposition_column = \"seq\"\n"
                              "type_column = \"kind\"\npayload_column = \"body\"\n";  // lines 3-7
  CHECK_THAT(only_error(generic + "table = \"events; DROP TABLE users\"\n"),
             Catch::StartsWith("test.toml:8: sources.legacy.table: \"events; DROP TABLE users\" is not a plain "
                               "identifier"));
  CHECK_THAT(only_error(generic + "table = \"a.b.c\"\n"), Catch::StartsWith("test.toml:8: sources.legacy.table:"));
  CHECK_THAT(only_error(generic + "table = \"t\"\nmetadata_column = \"public.meta\"\n"),
             Catch::StartsWith("test.toml:9: sources.legacy.metadata_column: \"public.meta\" is not a plain"));
  CHECK_THAT(only_error(generic + "table = \"t\"\nversion_column = \"1st\"\n"),
             Catch::StartsWith("test.toml:9: sources.legacy.version_column:"));
  CHECK_THAT(only_error(generic + "table = \"" + std::string(64, 'x') + "\"\n"),
             Catch::StartsWith("test.toml:8: sources.legacy.table:"));
  CHECK_THAT(only_error(kShop + "[handlers.users]\nkind = \"users\"\ntable = \"user projection\"\n"),
             Catch::StartsWith("test.toml:8: handlers.users.table: \"user projection\" is not a plain identifier"));
  CHECK_THAT(only_error(generic + "table = \"t\"\nnotify_channel = \"wake-up\"\n"),
             Catch::StartsWith("test.toml:9: sources.legacy.notify_channel: \"wake-up\" is not a plain"));
}

TEST_CASE("SQL injection payloads in any name of the config are refused at load with file and line") {
  const std::string generic = kDatabase + "[sources.legacy]\npreset = \"generic\"\nposition_column = \"id\"\n"
                              "type_column = \"kind\"\npayload_column = \"body\"\n";  // lines 3-7
  for (const std::string payload : {"x; DROP TABLE users; --", "x\" OR \"1\"=\"1", "x'); DELETE FROM t; --",
                                    "x\\\"; SELECT pg_sleep(10); --", "x$$ LANGUAGE sql $$"}) {
    INFO(payload);
    std::string quoted;  // as a TOML basic string
    for (const char c : payload) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    for (const std::string key : {"table", "stream_id_column", "metadata_column", "filter_column", "notify_channel"}) {
      INFO(key);
      const std::string extra = key == "table" ? "" : "table = \"t\"\n";
      const std::string line = key == "table" ? "8" : "9";
      const std::string value = key == "filter_column" ? quoted + "\"\nfilter_value = \"v" : quoted;
      CHECK_THAT(error_lines(load_config(generic + extra + key + " = \"" + value + "\"\n")),
                 Catch::Contains("test.toml:" + line + ": sources.legacy." + key + ":"));
    }
    CHECK_THAT(error_lines(load_config(kShop + "[handlers.\"" + quoted + "\"]\nkind = \"users\"\n")),
               Catch::Contains("test.toml:6: handlers.") && Catch::Contains("bad name"));
    CHECK_THAT(error_lines(load_config(kDatabase + "[sources.\"" + quoted + "\"]\npreset = \"eventsourcing\"\n")),
               Catch::Contains("test.toml:3: sources.") && Catch::Contains("bad name"));
    CHECK_THAT(error_lines(load_config(kShop + "[handlers.users]\nkind = \"users\"\ntable = \"" + quoted + "\"\n")),
               Catch::Contains("test.toml:8: handlers.users.table:"));
  }
}

TEST_CASE("a notify channel derived from a long table name is cut to PostgreSQL's 63 bytes") {
  const LoadResult result = load_config(
      kDatabase + "[sources.orders]\npreset = \"django_event_store\"\ntable = \"shop." + std::string(60, 'x') + "\"\n");
  INFO(error_lines(result));
  REQUIRE(result.ok());
  CHECK(result.config.postgres_sources.at("orders").notify_channel == "projectord_shop_" + std::string(47, 'x'));
}

TEST_CASE("identifier checks accept schema-qualified tables only where allowed") {
  using projectord::postgres::is_safe_identifier;
  CHECK(is_safe_identifier("stored_events", false));
  CHECK(is_safe_identifier("_x$1", false));
  CHECK(is_safe_identifier("public.stored_events", true));
  CHECK_FALSE(is_safe_identifier("public.stored_events", false));
  CHECK_FALSE(is_safe_identifier("", false));
  CHECK_FALSE(is_safe_identifier(".events", true));
  CHECK_FALSE(is_safe_identifier("\"events\"", false));
  CHECK_FALSE(is_safe_identifier("événements", false));
  CHECK(is_safe_identifier(std::string(63, 'a'), false));
  CHECK_FALSE(is_safe_identifier(std::string(64, 'a'), false));
}

TEST_CASE("every preset the option table allows exists") {
  const Option* preset = options().find("sources.*", "preset");
  REQUIRE(preset != nullptr);
  std::string_view choices = preset->choices;
  int count = 0;
  while (!choices.empty()) {
    const auto end = choices.find('|');
    INFO(choices.substr(0, end));
    CHECK(projectord::config::find_preset(choices.substr(0, end)) != nullptr);
    choices = end == std::string_view::npos ? std::string_view() : choices.substr(end + 1);
    ++count;
  }
  CHECK(count == 7);
}

TEST_CASE("recorded_at_path must name a top-level key of the payload") {
  CHECK(load_config(kShop + "recorded_at_path = \"data.occurred_at\"\n").ok());
  CHECK(only_error(kShop + "recorded_at_path = \"data.meta.time\"\n") ==
        "test.toml:6: sources.shop.recorded_at_path: must be data.KEY, a top-level key of the payload, got "
        "\"data.meta.time\"");
  CHECK_THAT(only_error(kShop + "recorded_at_path = \"metadata.time\"\n"),
             Catch::StartsWith("test.toml:6: sources.shop.recorded_at_path: must be data.KEY"));
  CHECK_THAT(only_error(kShop + "recorded_at_path = \"data.\"\n"),
             Catch::StartsWith("test.toml:6: sources.shop.recorded_at_path: must be data.KEY"));
}

TEST_CASE("a handler must name a defined source unless exactly one exists") {
  CHECK(only_error(kShop + "[handlers.users]\nkind = \"users\"\nsource = \"warehouse\"\n") ==
        "test.toml:8: handlers.users.source: no [sources.warehouse] is defined");
  const std::string two_sources = kShop + "[sources.other]\npreset = \"eventsourcing\"\n";  // lines 6-7
  CHECK(only_error(two_sources + "[handlers.users]\nkind = \"users\"\n") ==
        "test.toml:8: handlers.users.source: required when more than one source is defined");
}

TEST_CASE("a key that does not apply to the handler kind or source preset is an error") {
  CHECK(only_error(kShop + "[handlers.log]\nkind = \"event_log\"\n[[handlers.log.statements]]\non = \"A\"\n"
                           "sql = \"SELECT 1\"\n") == "test.toml:8: handlers.log.statements: only for kind sql");
  CHECK(only_error(kShop + "[handlers.sums]\nkind = \"sql\"\ntable = \"sums\"\nsetup = \"CREATE TABLE sums ()\"\n"
                           "[[handlers.sums.statements]]\non = \"A\"\nsql = \"SELECT 1\"\n") ==
        "test.toml:8: handlers.sums.table: only for kind event_log or users");
  CHECK(only_error(kShop + "filter_column = \"tenant\"\n") ==
        "test.toml:6: sources.shop.filter_column: only for preset eventsourcing or django_event_store or djangoevents or generic");
}

TEST_CASE("a tracking table needs its application, a postgres source and a handler of its own") {
  const std::string tracked = "[handlers.users]\nkind = \"users\"\ntracking_table = \"public.projections_tracking\"\n"
                              "tracking_application = \"Shop\"\n";
  const LoadResult loaded = load_config(kShop + tracked);
  INFO(error_lines(loaded));
  REQUIRE(loaded.ok());
  CHECK(loaded.config.handlers.at("users").tracking_table == "public.projections_tracking");
  CHECK(loaded.config.handlers.at("users").tracking_application == "Shop");

  using Catch::Matchers::Contains;
  CHECK_THAT(only_error(kShop + "[handlers.users]\nkind = \"users\"\ntracking_table = \"projections_tracking\"\n"),
             Contains("handlers.users.tracking_application: required with tracking_table"));
  CHECK_THAT(only_error(kShop + "[handlers.users]\nkind = \"users\"\ntracking_application = \"Shop\"\n"),
             Contains("handlers.users.tracking_table: required with tracking_application"));
  CHECK_THAT(only_error(kShop + "[handlers.users]\nkind = \"users\"\ntracking_table = \"a;b\"\n"
                                "tracking_application = \"Shop\"\n"),
             Contains("handlers.users.tracking_table: "));
  CHECK_THAT(only_error(kShop + tracked + "[handlers.log]\nkind = \"event_log\"\ntracking_table = "
                                          "\"public.projections_tracking\"\ntracking_application = \"Shop\"\n"),
             Contains("handlers.users.tracking_application: Shop in public.projections_tracking is also tracked by"
                      " handlers.log"));
  CHECK_THAT(only_error(kDatabase + "[sources.bus]\nkind = \"redis\"\nurl = \"redis://localhost\"\nstream = \"s\"\n" +
                        tracked),
             Contains("handlers.users.tracking_table: needs a postgres source"));
  CHECK_THAT(only_error(kShop + "[handlers.hook]\nkind = \"webhook\"\nurl = \"https://example.com/h\"\n"
                                "tracking_table = \"t\"\n"),
             Contains("handlers.hook.tracking_table: only for kind"));
}

TEST_CASE("a side effect may start at its postgres source's head, but not a projection or a redis-fed side effect") {
  const std::string hook = "[handlers.hook]\nkind = \"webhook\"\nurl = \"https://example.com/h\"\n";
  const LoadResult loaded = load_config(kShop + hook + "start = \"head\"\n");
  INFO(error_lines(loaded));
  REQUIRE(loaded.ok());
  CHECK(loaded.config.handlers.at("hook").start_at_head);
  CHECK_FALSE(load_config(kShop + hook).config.handlers.at("hook").start_at_head);

  using Catch::Matchers::Contains;
  CHECK_THAT(only_error(kShop + "[handlers.users]\nkind = \"users\"\nstart = \"head\"\n"),
             Contains("handlers.users.start: only for kind"));
  CHECK_THAT(only_error(kShop + hook + "start = \"now\"\n"), Contains("handlers.hook.start: "));
  CHECK_THAT(only_error(kDatabase + "[sources.bus]\nkind = \"redis\"\nurl = \"redis://localhost\"\nstream = \"s\"\n" +
                        hook + "start = \"head\"\n"),
             Contains("handlers.hook.start: head is for postgres sources"));
}

TEST_CASE("sql handlers need statements, each with on and sql") {
  CHECK(only_error(kShop + "[handlers.sums]\nkind = \"sql\"\n") ==
        "test.toml:6: handlers.sums.statements: required for kind sql: add [[handlers.sums.statements]]");
  CHECK(only_error(kShop + "[handlers.sums]\nkind = \"sql\"\nstatements = []\n") ==
        "test.toml:8: handlers.sums.statements: must not be empty");
  CHECK(only_error(kShop + "[handlers.sums]\nkind = \"sql\"\n\n[[handlers.sums.statements]]\non = \"A\"\n") ==
        "test.toml:9: handlers.sums.statements[0].sql: required");
  CHECK(only_error(kShop + "[handlers.sums]\nkind = \"sql\"\n[[handlers.sums.statements]]\non = \"A\"\n"
                           "sql = \"SELECT $1\"\nparams = [\"data..x\"]\n") ==
        "test.toml:11: handlers.sums.statements[0].params: \"data..x\" is not an event path such as stream_id or "
        "data.email");
  CHECK(only_error(kShop + "[handlers.sums]\nkind = \"sql\"\n[[handlers.sums.statements]]\non = \"A\"\n"
                           "sql = \"SELECT 1\"\nwhen = \"always\"\n") ==
        "test.toml:11: handlers.sums.statements[0].when: unknown key");
  CHECK(only_error(kShop + "[handlers.sums]\nkind = \"sql\"\n[handlers.sums.statements]\non = \"A\"\n") ==
        "test.toml:8: handlers.sums.statements: expected array of tables, got table");
}

TEST_CASE("source and handler names must be short lowercase identifiers") {
  CHECK_THAT(only_error(kShop + "[handlers.Users]\nkind = \"users\"\n"),
             Catch::StartsWith("test.toml:6: handlers.Users: bad name"));
  CHECK_THAT(only_error(kShop + "[handlers." + std::string(49, 'h') + "]\nkind = \"users\"\n"),
             Catch::StartsWith("test.toml:6: handlers.hhhh"));
  CHECK(load_config(kShop + "[handlers." + std::string(48, 'h') + "]\nkind = \"users\"\n").ok());
}

TEST_CASE("two handlers writing one table are rejected") {
  CHECK(only_error(kShop + "[handlers.a]\nkind = \"event_log\"\n[handlers.b]\nkind = \"event_log\"\n") ==
        "test.toml:8: handlers.b.table: user_event_log is also the table of handlers.a");
}

TEST_CASE("all errors of a file are reported, in file order") {
  const LoadResult result = load_config(kShop + R"toml(batch_size = "many"
[handlers.users]
kind = "user"
colour = "red"
[handlers.sums]
on_error = "ignore"
)toml");
  CHECK(result.errors == std::vector<std::string>{
                             "test.toml:6: sources.shop.batch_size: expected integer, got string",
                             "test.toml:8: handlers.users.kind: expected one of sql, event_log, users, webhook, celery, redis_publish, got \"user\"",
                             "test.toml:9: handlers.users.colour: unknown key",
                             "test.toml:10: handlers.sums.kind: required",
                             "test.toml:11: handlers.sums.on_error: expected one of stop, dead_letter, got \"ignore\"",
                         });
}

TEST_CASE("a TOML syntax error is reported with its line") {
  const std::string error = only_error(kDatabase + "[sources.shop\npreset = \"generic\"\n");
  CHECK_THAT(error, Catch::StartsWith("test.toml:3: syntax error: "));
}

TEST_CASE("environment variables are interpolated in string values") {
  const ScopedEnv url("PROJECTORD_TEST_URL", "postgres://from-env/app");
  const ScopedEnv empty("PROJECTORD_TEST_EMPTY", "");
  ::unsetenv("PROJECTORD_TEST_UNSET");
  const LoadResult result = load_config(R"toml([database]
url = "${PROJECTORD_TEST_URL}"
[sources.shop]
preset = "eventsourcing_django"
application_name = "${PROJECTORD_TEST_UNSET:-Shop}"
poll_interval = "${PROJECTORD_TEST_EMPTY:-2s}"
[handlers.costs]
kind = "sql"
[[handlers.costs.statements]]
on = "Priced"
sql = "SELECT '$${literal}', '$5', '${PROJECTORD_TEST_EMPTY}'"
)toml");
  INFO(error_lines(result));
  REQUIRE(result.ok());
  CHECK(result.config.database_url == "postgres://from-env/app");
  CHECK(result.config.postgres_sources.at("shop").filter_value == "Shop");
  CHECK(result.config.postgres_sources.at("shop").poll_interval == Duration{2'000});
  CHECK(result.config.handlers.at("costs").statements.at(0).sql == "SELECT '${literal}', '$5', ''");
}

TEST_CASE("an unset environment variable without a default is an error naming it and the key") {
  ::unsetenv("PROJECTORD_TEST_UNSET");
  CHECK(only_error(kShop + "table = \"${PROJECTORD_TEST_UNSET}\"\n") ==
        "test.toml:6: sources.shop.table: environment variable PROJECTORD_TEST_UNSET is not set");
  CHECK(only_error(kShop + "table = \"${PROJECTORD_TEST_UNSET\"\n") ==
        "test.toml:6: sources.shop.table: unterminated ${ (write $${ for a literal ${)");
}

TEST_CASE("a url_file key reads the url from a file, without its trailing newline") {
  const TempDir dir;
  const fs::path secret = dir.write("database_url", "postgres://projectord:s3cret@db/app\n");
  const fs::path config = dir.write("projectord.toml", R"toml([database]
url_file = "database_url"
[sources.shop]
preset = "eventsourcing_django"
application_name = "Shop"
url_file = ")toml" + secret.string() + "\"\n");
  const LoadResult result = load_config(config.string(), options());
  INFO(error_lines(result));
  REQUIRE(result.ok());
  CHECK(result.config.file == config.string());
  CHECK(result.config.database_url == "postgres://projectord:s3cret@db/app");
  CHECK(result.config.postgres_sources.at("shop").url == "postgres://projectord:s3cret@db/app");
}

TEST_CASE("a url_file that cannot be read is an error naming the file") {
  const TempDir dir;
  const std::string missing = (dir.path / "missing").string();
  CHECK(only_error("[database]\nurl_file = \"" + missing + "\"\n") ==
        "test.toml:2: database.url_file: cannot read \"" + missing + "\": No such file or directory");
  const fs::path empty = dir.write("empty", "\n");
  CHECK(only_error("[database]\nurl_file = \"" + empty.string() + "\"\n") ==
        "test.toml:2: database.url_file: \"" + empty.string() + "\" is empty");
  const fs::path secret = dir.write("url", "postgres://db/app");
  CHECK(only_error("[database]\nurl = \"postgres://db/app\"\nurl_file = \"" + secret.string() + "\"\n") ==
        "test.toml:3: database.url_file: set url or url_file, not both");
}

// base64 of the 32 bytes "config-test-cipher-key-012345678" and of the 16 bytes "sixteen-byte-key".
const std::string kCipherKey = "Y29uZmlnLXRlc3QtY2lwaGVyLWtleS0wMTIzNDU2Nzg=";
const std::string kShortCipherKey = "c2l4dGVlbi1ieXRlLWtleQ==";

CipherKey cipher_key(const std::string& base64) {
  auto key = CipherKey::from_base64(base64);
  REQUIRE(key.has_value());
  return *key;
}

TEST_CASE("an aes codec reads its cipher key from CIPHER_KEY unless cipher_key_env names another variable") {
  const ScopedEnv standard("CIPHER_KEY", kCipherKey.c_str());
  const ScopedEnv other("PROJECTORD_TEST_VAULT_KEY", kShortCipherKey.c_str());
  const LoadResult result = load_config(kShop + "codec = \"eventsourcing_json_zlib_aes\"\n" + R"toml(
[sources.vault]
preset = "eventsourcing"
codec = "eventsourcing_json_aes"
cipher_key_env = "PROJECTORD_TEST_VAULT_KEY"
)toml");
  INFO(error_lines(result));
  REQUIRE(result.ok());
  const PostgresSource& shop = result.config.postgres_sources.at("shop");
  CHECK(shop.codec == Codec::eventsourcing_json_zlib_aes);
  CHECK(shop.cipher_key == cipher_key(kCipherKey));
  CHECK(shop.cipher_key.bytes().size() == 32);
  const PostgresSource& vault = result.config.postgres_sources.at("vault");
  CHECK(vault.codec == Codec::eventsourcing_json_aes);
  CHECK(vault.cipher_key.bytes().size() == 16);
}

TEST_CASE("cipher_key_file reads the cipher key from a file relative to the config file") {
  const TempDir dir;
  dir.write("cipher_key", kCipherKey + "\n");
  const fs::path config = dir.write("projectord.toml", kShop + R"toml(codec = "eventsourcing_json_aes"
cipher_key_file = "cipher_key"
[sources.orders]
kind = "redis"
url = "redis://127.0.0.1:6380/2"
stream = "orders"
codec = "eventsourcing_json_zlib_aes"
cipher_key_file = "cipher_key"
)toml");
  const LoadResult result = load_config(config.string(), options());
  INFO(error_lines(result));
  REQUIRE(result.ok());
  CHECK(result.config.postgres_sources.at("shop").cipher_key == cipher_key(kCipherKey));
  CHECK(result.config.redis_sources.at("orders").cipher_key == cipher_key(kCipherKey));
}

TEST_CASE("a missing or malformed cipher key is refused at load by file, line, source and option, never quoted") {
  ::unsetenv("CIPHER_KEY");
  CHECK(only_error(kShop + "codec = \"eventsourcing_json_aes\"\n") ==
        "test.toml:3: sources.shop.cipher_key_env: environment variable CIPHER_KEY (the base64 AES key of the codec)"
        " is not set; name another with cipher_key_env or a file with cipher_key_file");
  CHECK(only_error(kShop + "codec = \"eventsourcing_json_aes\"\ncipher_key_env = \"PROJECTORD_TEST_UNSET\"\n") ==
        "test.toml:7: sources.shop.cipher_key_env: environment variable PROJECTORD_TEST_UNSET (the base64 AES key of"
        " the codec) is not set");
  const std::string not_a_key = "bm90LWEta2V5";  // 9 bytes
  const ScopedEnv bad("PROJECTORD_TEST_BAD_KEY", not_a_key.c_str());
  const std::string error =
      only_error(kShop + "codec = \"eventsourcing_json_aes\"\ncipher_key_env = \"PROJECTORD_TEST_BAD_KEY\"\n");
  CHECK(error == "test.toml:7: sources.shop.cipher_key_env: environment variable PROJECTORD_TEST_BAD_KEY is not the"
                 " base64 of a 16, 24 or 32-byte AES key: it decodes to 9 bytes");
  CHECK(error.find(not_a_key) == std::string::npos);

  const TempDir dir;
  const fs::path file = dir.write("key", "not-a-key-at-all\n");
  CHECK(only_error(kShop + "codec = \"eventsourcing_json_aes\"\ncipher_key_file = \"" + file.string() + "\"\n") ==
        "test.toml:7: sources.shop.cipher_key_file: the file is not the base64 of a 16, 24 or 32-byte AES key: it is"
        " not valid base64");
  const std::string missing = (dir.path / "missing").string();
  CHECK(only_error(kShop + "codec = \"eventsourcing_json_aes\"\ncipher_key_file = \"" + missing + "\"\n") ==
        "test.toml:7: sources.shop.cipher_key_file: cannot read \"" + missing + "\": No such file or directory");
}

TEST_CASE("cipher key options are refused where the codec does not decrypt, and both at once anywhere") {
  CHECK(only_error(kShop + "cipher_key_env = \"CIPHER_KEY\"\n") ==
        "test.toml:6: sources.shop.cipher_key_env: only for codec eventsourcing_json_aes or"
        " eventsourcing_json_zlib_aes");
  const ScopedEnv standard("CIPHER_KEY", kCipherKey.c_str());
  CHECK(only_error(kShop + "codec = \"eventsourcing_json_aes\"\ncipher_key_env = \"CIPHER_KEY\"\n"
                           "cipher_key_file = \"key\"\n") ==
        "test.toml:8: sources.shop.cipher_key_file: set cipher_key_env or cipher_key_file, not both");
}

TEST_CASE("a _file key that stands for no other key is a path its reader opens, such as a webhook's ca_file") {
  const LoadResult result = load_config(kShop +
                                        "[handlers.hook]\nkind = \"webhook\"\nurl = \"https://example.com/e\"\n"
                                        "ca_file = \"/etc/ssl/internal-ca.pem\"\n");
  INFO(error_lines(result));
  REQUIRE(result.ok());
  CHECK(result.config.handlers.at("hook").side_effect.ca_file == "/etc/ssl/internal-ca.pem");
}

TEST_CASE("error messages never contain a secret url") {
  const TempDir dir;
  const std::string secret = "hunter2";
  const fs::path file = dir.write("url", "postgres://app:" + secret + "@db/app\n");
  ::unsetenv("PROJECTORD_TEST_UNSET");
  const LoadResult result = load_config(R"toml([database]
url_file = ")toml" + file.string() +
                                        R"toml("
[sources.shop]
preset = "eventsourcing_django"
application_name = "Shop"
url = "postgres://app:hunter2@${PROJECTORD_TEST_UNSET}/app"
batch_size = "hunter"
[sources.other]
preset = "generic"
url = 5
[sources.third]
preset = "eventsourcing"
url = "postgres://app:hunter2@${bad name}/app"
)toml");
  const std::string errors = error_lines(result);
  INFO(errors);
  CHECK(result.errors.size() >= 4);
  CHECK_THAT(errors, Catch::Contains("sources.shop.url: environment variable PROJECTORD_TEST_UNSET is not set"));
  CHECK_THAT(errors, Catch::Contains("sources.third.url: bad ${...}"));
  CHECK(errors.find("app:" + secret) == std::string::npos);
}

TEST_CASE("options_help lists every key of the option table under its section") {
  const std::string help = options().help();
  for (const Option& option : options().rows()) {
    INFO(option.section << "." << option.key);
    CHECK_THAT(help, Catch::Contains("  " + std::string(option.key) + " "));
  }
  CHECK_THAT(help, Catch::Contains("[daemon]"));
  CHECK_THAT(help, Catch::Contains("[database]"));
  CHECK_THAT(help, Catch::Contains("[sources.NAME]"));
  CHECK_THAT(help, Catch::Contains("[handlers.NAME]"));
  CHECK_THAT(help, Catch::Contains("[[handlers.NAME.statements]]"));
}

TEST_CASE("a redis source loads with its defaults and every field it can set") {
  const LoadResult result = load_config(kDatabase + R"toml([sources.orders]
kind = "redis"
url = "redis://127.0.0.1:6380/2"
stream = "orders"
start = "$"
data_field = "payload"
codec = "eventsourcing_json"
block = "250ms"
claim_idle = "30s"
[sources.clicks]
kind = "redis"
url = "unix:///run/redis/redis.sock"
stream = "clicks"
[handlers.order_log]
kind = "event_log"
source = "orders"
)toml");
  INFO(error_lines(result));
  REQUIRE(result.errors.empty());
  CHECK(result.config.postgres_sources.empty());
  REQUIRE(result.config.redis_sources.size() == 2);
  const RedisSource& orders = result.config.redis_sources.at("orders");
  CHECK(orders.name == "orders");
  CHECK(orders.url == "redis://127.0.0.1:6380/2");
  CHECK(orders.stream == "orders");
  CHECK(orders.start == "$");
  CHECK(orders.data_field == "payload");
  CHECK(orders.codec == Codec::eventsourcing_json);
  CHECK(orders.block == Duration{250});
  CHECK(orders.claim_idle == Duration{30'000});
  const RedisSource& clicks = result.config.redis_sources.at("clicks");
  CHECK(clicks.group == "projectord");
  CHECK(clicks.consumer.empty());  // the daemon names it HOSTNAME-PID
  CHECK(clicks.start == "0");
  CHECK(clicks.type_field == "type");
  CHECK(clicks.metadata_field == "metadata");
  CHECK(clicks.batch_size == 5000);
  CHECK(clicks.codec == Codec::json);
  CHECK(result.config.handlers.at("order_log").source == "orders");
}

TEST_CASE("a redis source needs url and stream and takes no table keys, a postgres one no stream keys") {
  const LoadResult redis = load_config(kDatabase + R"toml([sources.orders]
kind = "redis"
table = "orders"
poll_interval = "1s"
)toml");
  CHECK(redis.errors == std::vector<std::string>{
                           "test.toml:3: sources.orders.url: required for kind redis",
                           "test.toml:3: sources.orders.stream: required for kind redis",
                           "test.toml:5: sources.orders.table: only for kind postgres",
                           "test.toml:6: sources.orders.poll_interval: only for kind postgres",
                       });
  CHECK(only_error(kShop + "stream = \"orders\"\n") == "test.toml:6: sources.shop.stream: only for kind redis");
  CHECK(only_error(kDatabase + "[sources.shop]\ntable = \"events\"\n") ==
        "test.toml:3: sources.shop.preset: required for kind postgres");
}

TEST_CASE("side-effect handlers load their delivery settings, checked per kind") {
  const LoadResult result = load_config(kShop + R"toml([handlers.welcome]
kind = "celery"
url = "redis://127.0.0.1:6379/0"
task = "users.tasks.send_welcome_email"
args = ["stream_id", "data.email"]
kwargs = { name = "data.name" }
types = ["UserRegistered"]
[handlers.hook]
kind = "webhook"
url = "https://example.com/events"
secret = "s3cret"
max_in_flight = 4
request_timeout = "2s"
[handlers.feed]
kind = "redis_publish"
url = "redis://127.0.0.1:6379/0"
stream = "user-feed"
maxlen = 1000
fields = { kind = "type", who = "stream_id" }
)toml");
  INFO(error_lines(result));
  REQUIRE(result.errors.empty());
  const SideEffectSettings& welcome = result.config.handlers.at("welcome").side_effect;
  CHECK(welcome.task == "users.tasks.send_welcome_email");
  CHECK(welcome.queue == "celery");
  CHECK(welcome.args == std::vector<std::string>{"stream_id", "data.email"});
  CHECK(welcome.kwargs == std::map<std::string, std::string>{{"name", "data.name"}});
  const SideEffectSettings& hook = result.config.handlers.at("hook").side_effect;
  CHECK(hook.url == "https://example.com/events");
  CHECK(hook.secret == "s3cret");
  CHECK(hook.max_in_flight == 4);
  CHECK(hook.request_timeout == Duration{2'000});
  CHECK(hook.connect_timeout == Duration{5'000});
  const SideEffectSettings& feed = result.config.handlers.at("feed").side_effect;
  CHECK(feed.stream == "user-feed");
  CHECK(feed.maxlen == 1000);
  CHECK(feed.fields == std::map<std::string, std::string>{{"kind", "type"}, {"who", "stream_id"}});
  CHECK(result.config.handlers.at("hook").is_side_effect);

  CHECK(only_error(kShop + "[handlers.welcome]\nkind = \"celery\"\nurl = \"redis://r\"\n") ==
        "test.toml:6: handlers.welcome.task: required for kind celery");
  CHECK(only_error(kShop + "[handlers.hook]\nkind = \"webhook\"\nurl = \"http://h/\"\ntask = \"t\"\n") ==
        "test.toml:9: handlers.hook.task: only for kind celery");
  CHECK(only_error(kShop + "[handlers.hook]\nkind = \"webhook\"\nurl = \"http://h/\"\nrebuild_on_signal = true\n") ==
        "test.toml:9: handlers.hook.rebuild_on_signal: only for kind sql or event_log or users");
  CHECK(only_error(kShop + "[handlers.feed]\nkind = \"redis_publish\"\nurl = \"redis://r\"\nstream = \"s\"\n"
                           "fields = { who = \"data..x\" }\n") ==
        "test.toml:10: handlers.feed.fields: \"data..x\" is not an event path such as data.email");
  CHECK(only_error(kShop + "[handlers.hook]\nkind = \"webhook\"\n") ==
        "test.toml:6: handlers.hook.url: required for kind webhook");
}

TEST_CASE("each codec's name is the one the loader reads back as that codec") {
  const ScopedEnv key("CIPHER_KEY", kCipherKey.c_str());
  for (const Codec codec : {Codec::json, Codec::json_zlib, Codec::eventsourcing_json, Codec::eventsourcing_json_zlib,
                            Codec::eventsourcing_json_aes, Codec::eventsourcing_json_zlib_aes}) {
    const std::string name(codec_name(codec));
    const LoadResult result = load_config(kShop + "codec = \"" + name + "\"\n");
    INFO(name << ": " << error_lines(result));
    REQUIRE(result.ok());
    CHECK(result.config.postgres_sources.at("shop").codec == codec);
  }
}

TEST_CASE("a django_event_tables source reads its tables with their types, the row as payload, created as time") {
  const LoadResult result = load_config(kDatabase + R"toml([sources.library]
preset = "django_event_tables"
tables = ["library_bookborrowed", "library_bookreturned", "archive.library_bookbought"]
type_names = {library_bookborrowed = "BookBorrowed"}
stream_id_column = "book_id"
)toml");
  INFO(error_lines(result));
  REQUIRE(result.ok());
  const PostgresSource& source = result.config.postgres_sources.at("library");
  CHECK(source.table.empty());
  CHECK(event_tables(source) ==
        std::vector<std::string>{"library_bookborrowed", "library_bookreturned", "archive.library_bookbought"});
  CHECK(source.type_names == StringMap{{"library_bookborrowed", "BookBorrowed"}});
  CHECK(source.position_column == "projectord_position");
  CHECK(source.recorded_at_column == "created");
  CHECK(source.type_column.empty());
  CHECK(source.payload_column.empty());
  CHECK(source.codec == Codec::json);
  CHECK(source.commit_order == CommitOrder::concurrent);
  CHECK(source.notify_channel == "projectord_library_bookborrowed");
}

TEST_CASE("a django_event_tables source needs a list of distinct safe tables and types only for those") {
  const std::string library = kDatabase + "[sources.library]\npreset = \"django_event_tables\"\n";  // lines 3-4
  CHECK(only_error(library) == "test.toml:3: sources.library.tables: required for preset django_event_tables");
  CHECK(only_error(library + "tables = []\n") == "test.toml:5: sources.library.tables: must list at least one table");
  CHECK(only_error(library + "tables = [\"a\", \"b\", \"a\"]\n") ==
        "test.toml:5: sources.library.tables: a is listed twice");
  CHECK_THAT(only_error(library + "tables = [\"a\", \"b; DROP TABLE users\"]\n"),
             Catch::StartsWith("test.toml:5: sources.library.tables: \"b; DROP TABLE users\" is not a plain"));
  CHECK(only_error(library + "tables = [\"a\"]\ntype_names = {b = \"B\"}\n") ==
        "test.toml:6: sources.library.type_names: b is not one of tables");
  CHECK(only_error(library + "tables = [\"a\"]\ntype_names = {a = \"\"}\n") ==
        "test.toml:6: sources.library.type_names: a: the type must not be empty");
}

TEST_CASE("table and tables exclude each other, and a django_event_tables source has no type or payload column") {
  const std::string library = kDatabase + "[sources.library]\npreset = \"django_event_tables\"\ntables = [\"a\"]\n";
  CHECK(only_error(library + "table = \"a\"\n") ==
        "test.toml:6: sources.library.table: not for preset django_event_tables: list them in tables");
  CHECK(only_error(library + "type_column = \"kind\"\n") ==
        "test.toml:6: sources.library.type_column: not for preset django_event_tables");
  CHECK(only_error(kDatabase +
                   "[sources.legacy]\npreset = \"django_event_store\"\ntable = \"t\"\ntables = [\"t\"]\n") ==
        "test.toml:6: sources.legacy.tables: only for preset django_event_tables");
}

TEST_CASE("a handler may be split into partitions by stream, on a postgres source with stream ids") {
  const std::string webhook = "[handlers.hook]\nkind = \"webhook\"\nurl = \"https://example.com/h\"\n";  // lines 6-8
  const auto loaded = load_config(kShop + webhook + "partitions = 4\n");
  REQUIRE(loaded.errors.empty());
  CHECK(loaded.config.handlers.at("hook").partitions == 4);
  CHECK(load_config(kShop + webhook).config.handlers.at("hook").partitions == 1);
  CHECK_FALSE(loaded.config.handlers.at("hook").partition);  // set on the lanes the supervisor runs

  CHECK(only_error(kShop + webhook + "partitions = 65\n") ==
        "test.toml:9: handlers.hook.partitions: must be between 1 and 64, got 65");
  CHECK_THAT(only_error(kDatabase + "[sources.bus]\nkind = \"redis\"\nurl = \"redis://localhost\"\nstream = \"s\"\n" +
                        webhook + "partitions = 2\n"),
             Catch::EndsWith("handlers.hook.partitions: needs a postgres source: a redis stream's consumer group hands"
                             " entries out in order, not by stream"));
  CHECK_THAT(only_error(kDatabase + "[sources.library]\npreset = \"django_event_tables\"\ntables = [\"a\", \"b\"]\n" +
                        webhook + "partitions = 2\n"),
             Catch::EndsWith("handlers.hook.partitions: needs a source with a stream_id_column: partitions are by stream"));
  CHECK_THAT(only_error(kShop + "[handlers.users]\nkind = \"users\"\ntracking_table = \"tracking\"\n"
                                "tracking_application = \"Shop\"\npartitions = 2\n"),
             Catch::EndsWith("handlers.users.tracking_table: a partitioned handler has a position per partition; a"
                             " tracking row holds one"));
}
