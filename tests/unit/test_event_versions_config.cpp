// The config of versioned events: where each preset finds the schema version, sources' upcasts and their
// chains, and the version or versions a sql statement applies to.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "config/loader.hpp"
#include "handlers/registry.hpp"
#include "tests/unit/config_text.hpp"

using namespace projectord::config;
using projectord::testing::error_lines;
using projectord::testing::load_config;

namespace {

std::string errors_loading(const std::string& text) { return error_lines(load_config(text)); }

const std::string kJournal = R"toml([database]
url = "postgres://projectord@localhost/app"
[sources.journal]
preset = "djangoevents"
)toml";  // lines 1-4

const PostgresSource& journal(const LoadResult& result) { return result.config.postgres_sources.at("journal"); }

}  // namespace

TEST_CASE("each preset says where the schema version is: a column, the state's class_version, or nowhere") {
  const LoadResult result = load_config(R"toml([database]
url = "postgres://projectord@localhost/app"
[sources.journal]
preset = "djangoevents"
[sources.events]
preset = "eventuali"
[sources.stored]
preset = "eventsourcing"
[sources.any]
preset = "generic"
table = "events"
position_column = "id"
type_column = "type"
payload_column = "data"
[sources.stream]
kind = "redis"
url = "redis://localhost"
stream = "events"
)toml");
  INFO((result.errors.empty() ? std::string() : result.errors.front()));
  REQUIRE(result.ok());
  const auto& sources = result.config.postgres_sources;
  CHECK(sources.at("journal").event_version_column == "event_version");
  CHECK(sources.at("events").event_version_column == "event_version");
  CHECK(sources.at("stored").event_version_path == "data.class_version");
  CHECK(sources.at("stored").event_version_column.empty());
  CHECK(sources.at("any").event_version_column.empty());
  CHECK(sources.at("any").event_version_path.empty());
  CHECK(result.config.redis_sources.at("stream").event_version_field == "event_version");
}

TEST_CASE("an event_version key written replaces the preset's other, and both written is an error") {
  const LoadResult path = load_config(kJournal + "event_version_path = \"metadata.schema.version\"\n");
  REQUIRE(path.ok());
  CHECK(journal(path).event_version_path == "metadata.schema.version");
  CHECK(journal(path).event_version_column.empty());

  CHECK(errors_loading(kJournal + "event_version_column = \"v\"\nevent_version_path = \"data.v\"\n") ==
        "test.toml:6: sources.journal.event_version_path: set event_version_column or event_version_path, not both\n");
  CHECK(errors_loading(kJournal + "event_version_path = \"payload.v\"\n") ==
        "test.toml:5: sources.journal.event_version_path: must be data.KEY or metadata.KEY (KEY may be dotted), got "
        "\"payload.v\"\n");
  CHECK(errors_loading(kJournal + "event_version_column = \"v; drop table x\"\n")
            .find("test.toml:5: sources.journal.event_version_column:") == 0);
}

TEST_CASE("upcasts load with their operations and lines, ordered by type and version") {
  const LoadResult result = load_config(kJournal + R"toml([[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 2
split = { name = ["first_name", "last_name"] }
default = { country = "NL", "flags.beta" = false, score = 1.5, tags = ["a"] }
[[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 1
rename = { mail = "email" }
move = { "address.city" = "city" }
drop = ["legacy"]
)toml");
  INFO((result.errors.empty() ? std::string() : result.errors.front()));
  REQUIRE(result.ok());
  const auto& upcasts = journal(result).upcasts;
  REQUIRE(upcasts.size() == 2);
  CHECK(upcasts[0].from_version == 1);
  CHECK(upcasts[0].line == 10);
  CHECK(upcasts[0].rename == StringMap{{"mail", "email"}});
  CHECK(upcasts[0].move == StringMap{{"address.city", "city"}});
  CHECK(upcasts[0].drop == std::vector<std::string>{"legacy"});
  CHECK(upcasts[1].from_version == 2);
  CHECK(upcasts[1].line == 5);
  CHECK(upcasts[1].split.at("name") == std::pair<std::string, std::string>{"first_name", "last_name"});
  CHECK(boost::json::value(upcasts[1].defaults) ==
        boost::json::parse(R"({"country":"NL","flags.beta":false,"score":1.5,"tags":["a"]})"));
}

TEST_CASE("a gap or a repeat in a type's chain of upcasts is an error at the upcast's line") {
  const std::string gap = kJournal + R"toml([[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 1
drop = ["a"]
[[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 3
drop = ["b"]
[[sources.journal.upcasts]]
type = "UserDeleted"
from_version = 2
drop = ["c"]
)toml";
  CHECK(errors_loading(gap) ==
        "test.toml:9: sources.journal.upcasts[1].from_version: the upcasts of UserRegistered have a gap: none from "
        "version 2, so a version 2 event would never reach version 4\n");

  const std::string repeat = kJournal + R"toml([[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 1
drop = ["a"]
[[sources.journal.upcasts]]
type = "UserRegistered"
from_version = 1
drop = ["b"]
)toml";
  CHECK(errors_loading(repeat) ==
        "test.toml:9: sources.journal.upcasts[1].from_version: a second upcast of UserRegistered from version 1 (the "
        "first is at line 5)\n");
}

TEST_CASE("an upcast's operations are checked at load: paths, key names, split targets, and doing something") {
  const auto upcast_errors = [](const std::string& operations) {
    return errors_loading(kJournal + "[[sources.journal.upcasts]]\ntype = \"T\"\nfrom_version = 1\n" + operations);
  };
  CHECK(upcast_errors("rename = { mail = \"contact.email\" }\n") ==
        "test.toml:8: sources.journal.upcasts[0].rename: \"contact.email\" is not a key name (use move to change "
        "levels)\n");
  CHECK(upcast_errors("move = { \"a..b\" = \"c\" }\n") ==
        "test.toml:8: sources.journal.upcasts[0].move: \"a..b\" is not a path inside data such as address.zip\n");
  CHECK(upcast_errors("split = { name = \"first_name\" }\n") ==
        "test.toml:8: sources.journal.upcasts[0].split: name: expected two paths, e.g. [\"first_name\", "
        "\"last_name\"]\n");
  CHECK(upcast_errors("default = { when = 1979-05-27 }\n") ==
        "test.toml:8: sources.journal.upcasts[0].default: when: expected a string, number, boolean, array or table, "
        "got date\n");
  CHECK(upcast_errors("") ==
        "test.toml:6: sources.journal.upcasts[0].type: the upcast does nothing: give it rename, move, split, drop or "
        "default\n");
  CHECK(errors_loading(kJournal + "[[sources.journal.upcasts]]\ntype = \"T\"\nfrom_version = 0\ndrop = [\"a\"]\n") ==
        "test.toml:7: sources.journal.upcasts[0].from_version: must be between 1 and 1000000, got 0\n");
}

TEST_CASE("a sql statement applies to one schema version, a range of them, or every version") {
  const std::string handler = kJournal + R"toml([handlers.users]
kind = "sql"
[[handlers.users.statements]]
on = "UserRegistered"
sql = "SELECT 1"
)toml";  // statement's lines 7-9
  const auto statement = [&](const std::string& keys) {
    const LoadResult result = load_config(handler + keys);
    INFO((result.errors.empty() ? std::string() : result.errors.front()));
    REQUIRE(result.ok());
    return result.config.handlers.at("users").statements.at(0);
  };
  CHECK(statement("").min_version == 1);
  CHECK(statement("").max_version == std::numeric_limits<std::int64_t>::max());
  CHECK(statement("version = 3\n").min_version == 3);
  CHECK(statement("version = 3\n").max_version == 3);
  CHECK(statement("versions = \"1..2\"\n").min_version == 1);
  CHECK(statement("versions = \"1..2\"\n").max_version == 2);
  CHECK(statement("versions = \"2..\"\n").min_version == 2);
  CHECK(statement("versions = \"2..\"\n").max_version == std::numeric_limits<std::int64_t>::max());

  CHECK(errors_loading(handler + "versions = \"3..2\"\n") ==
        "test.toml:10: handlers.users.statements[0].versions: \"3..2\" is empty: 3 is above 2\n");
  CHECK(errors_loading(handler + "versions = \"two\"\n") ==
        "test.toml:10: handlers.users.statements[0].versions: expected FROM..TO or FROM.. with versions from 1, e.g. "
        "\"1..2\", got \"two\"\n");
  CHECK(errors_loading(handler + "versions = \"0..2\"\n").find("expected FROM..TO") != std::string::npos);
  CHECK(errors_loading(handler + "version = 2\nversions = \"1..2\"\n") ==
        "test.toml:11: handlers.users.statements[0].versions: set version or versions, not both\n");
}
