// Upcasts are pure functions of the event: each operation, the chain that raises the schema version one step
// per upcast, and the errors that make an event a poison event rather than a crash.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sources/upcasts.hpp"

namespace json = boost::json;
using projectord::Event;
using projectord::config::Upcast;
using projectord::sources::apply_upcasts;

namespace {

Event event_of(std::string type, std::int64_t schema_version, std::string data) {
  Event event;
  event.type = std::move(type);
  event.schema_version = schema_version;
  event.data = json::parse(data);
  return event;
}

Upcast upcast(std::int64_t from_version, std::size_t line = 10) {
  Upcast step;
  step.type = "UserRegistered";
  step.from_version = from_version;
  step.line = line;
  return step;
}

// v1 {name, mail} -> v2 {name, email} -> v3 {first_name, last_name, email, country}
std::vector<Upcast> user_chain() {
  Upcast to_v2 = upcast(1, 10);
  to_v2.rename = {{"mail", "email"}};
  Upcast to_v3 = upcast(2, 14);
  to_v3.split = {{"name", {"first_name", "last_name"}}};
  to_v3.defaults = {{"country", "NL"}};
  return {to_v2, to_v3};
}

}  // namespace

TEST_CASE("a version 1 event passes every upcast of its chain and reaches handlers as version 3") {
  Event event = event_of("users.events:UserRegistered", 1, R"({"name":"Ada Lovelace","mail":"ada@example.org"})");
  REQUIRE(apply_upcasts(user_chain(), event).has_value());
  CHECK(event.schema_version == 3);
  CHECK(event.data == json::parse(
                          R"({"first_name":"Ada","last_name":"Lovelace","email":"ada@example.org","country":"NL"})"));
}

TEST_CASE("an event enters its chain at its own version and leaves one already at the end untouched") {
  Event v2 = event_of("UserRegistered", 2, R"({"name":"Grace Hopper","email":"grace@example.org","country":"US"})");
  REQUIRE(apply_upcasts(user_chain(), v2).has_value());
  CHECK(v2.schema_version == 3);
  CHECK(v2.data == json::parse(
                       R"({"first_name":"Grace","last_name":"Hopper","email":"grace@example.org","country":"US"})"));

  const std::string stored = R"({"first_name":"Alan","last_name":"Turing","email":"alan@example.org"})";
  Event v3 = event_of("UserRegistered", 3, stored);
  REQUIRE(apply_upcasts(user_chain(), v3).has_value());
  CHECK(v3.schema_version == 3);
  CHECK(v3.data == json::parse(stored));
}

TEST_CASE("upcasts of another event type leave an event alone") {
  Event event = event_of("UserDeleted", 1, R"({"mail":"ada@example.org"})");
  REQUIRE(apply_upcasts(user_chain(), event).has_value());
  CHECK(event.schema_version == 1);
  CHECK(event.data == json::parse(R"({"mail":"ada@example.org"})"));
}

TEST_CASE("rename changes a key in place, also below the top level") {
  Upcast step = upcast(1);
  step.rename = {{"address.zip", "postcode"}, {"missing", "still_missing"}};
  Event event = event_of("UserRegistered", 1, R"({"address":{"zip":"1234AB","city":"Delft"}})");
  REQUIRE(apply_upcasts({step}, event).has_value());
  CHECK(event.data == json::parse(R"({"address":{"postcode":"1234AB","city":"Delft"}})"));
}

TEST_CASE("move takes a value to another path, creating the objects on the way") {
  Upcast step = upcast(1);
  step.move = {{"address.city", "location.city.name"}};
  Event event = event_of("UserRegistered", 1, R"({"address":{"city":"Delft"}})");
  REQUIRE(apply_upcasts({step}, event).has_value());
  CHECK(event.data == json::parse(R"({"address":{},"location":{"city":{"name":"Delft"}}})"));
}

TEST_CASE("split cuts a string at its first space, and a string without one gives an empty second part") {
  Upcast step = upcast(1);
  step.split = {{"name", {"first_name", "last_name"}}};
  Event three_words = event_of("UserRegistered", 1, R"({"name":"Ada Lovelace King"})");
  REQUIRE(apply_upcasts({step}, three_words).has_value());
  CHECK(three_words.data == json::parse(R"({"first_name":"Ada","last_name":"Lovelace King"})"));

  Event one_word = event_of("UserRegistered", 1, R"({"name":"Plato"})");
  REQUIRE(apply_upcasts({step}, one_word).has_value());
  CHECK(one_word.data == json::parse(R"({"first_name":"Plato","last_name":""})"));
}

TEST_CASE("drop removes paths and ignores missing ones") {
  Upcast step = upcast(1);
  step.drop = {"legacy", "address.fax", "never_there"};
  Event event = event_of("UserRegistered", 1, R"({"legacy":true,"address":{"fax":"123","city":"Delft"}})");
  REQUIRE(apply_upcasts({step}, event).has_value());
  CHECK(event.data == json::parse(R"({"address":{"city":"Delft"}})"));
}

TEST_CASE("default sets a value only where the path is missing") {
  Upcast step = upcast(1);
  step.defaults = {{"country", "NL"}, {"flags.beta", false}, {"score", 0}};
  Event event = event_of("UserRegistered", 1, R"({"country":"US"})");
  REQUIRE(apply_upcasts({step}, event).has_value());
  CHECK(event.data == json::parse(R"({"country":"US","flags":{"beta":false},"score":0})"));
}

TEST_CASE("an upcast that cannot apply is an error naming its line and leaves the version where it failed") {
  Upcast through_string = upcast(1, 21);
  through_string.move = {{"address.city", "city"}};
  Event event = event_of("UserRegistered", 1, R"({"address":"Delft"})");
  CHECK(apply_upcasts({through_string}, event).error() ==
        "upcast of line 21 (UserRegistered from version 1) cannot apply: move address.city: 'address' is not an object");
  CHECK(event.schema_version == 1);

  Upcast split_number = upcast(1, 30);
  split_number.split = {{"name", {"first_name", "last_name"}}};
  Event numeric_name = event_of("UserRegistered", 1, R"({"name":42})");
  CHECK(apply_upcasts({split_number}, numeric_name).error() ==
        "upcast of line 30 (UserRegistered from version 1) cannot apply: split name: 'name' is not a string");

  Upcast onto_existing = upcast(1, 40);
  onto_existing.rename = {{"mail", "email"}};
  Event both = event_of("UserRegistered", 1, R"({"mail":"a@example.org","email":"b@example.org"})");
  CHECK(apply_upcasts({onto_existing}, both).error() ==
        "upcast of line 40 (UserRegistered from version 1) cannot apply: rename mail: 'email' is already set");
}

TEST_CASE("the second upcast of a chain failing names its own line") {
  Event event = event_of("UserRegistered", 1, R"({"name":["Ada"],"mail":"ada@example.org"})");
  CHECK(apply_upcasts(user_chain(), event).error() ==
        "upcast of line 14 (UserRegistered from version 2) cannot apply: split name: 'name' is not a string");
}
