#include <catch2/catch.hpp>

#include "handlers/event_types.hpp"

using projectord::handlers::class_name_of;
using projectord::handlers::type_matches;
using projectord::handlers::TypeFilter;

TEST_CASE("the class name of a stored type is the part after the last dot or colon") {
  CHECK(class_name_of("users.events:UserRegistered") == "UserRegistered");
  CHECK(class_name_of("myapp.domain:World.SomethingHappened") == "SomethingHappened");
  CHECK(class_name_of("myapp.domain:World") == "World");
  CHECK(class_name_of("events.UserRegistered") == "UserRegistered");
  CHECK(class_name_of("UserRegistered") == "UserRegistered");
  CHECK(class_name_of("").empty());
}

TEST_CASE("a pattern matches the stored type exactly") {
  CHECK(type_matches("users.events:UserRegistered", "users.events:UserRegistered"));
  CHECK(type_matches("myapp.domain:World.SomethingHappened", "myapp.domain:World.SomethingHappened"));
  CHECK(type_matches("todo_created", "todo_created"));
}

TEST_CASE("a pattern matches the stored type's class name") {
  CHECK(type_matches("UserRegistered", "users.events:UserRegistered"));
  CHECK(type_matches("SomethingHappened", "myapp.domain:World.SomethingHappened"));
  CHECK(type_matches("Created", "myapp.domain:World.Created"));
}

TEST_CASE("a pattern does not match another type, a part of a name or another module's type") {
  CHECK_FALSE(type_matches("UserDeleted", "users.events:UserRegistered"));
  CHECK_FALSE(type_matches("Registered", "users.events:UserRegistered"));
  CHECK_FALSE(type_matches("userregistered", "users.events:UserRegistered"));
  CHECK_FALSE(type_matches("World", "myapp.domain:World.SomethingHappened"));
  CHECK_FALSE(type_matches("billing.events:UserRegistered", "users.events:UserRegistered"));
  CHECK_FALSE(type_matches("users.events:UserRegistered", "UserRegistered"));
}

TEST_CASE("an empty type filter accepts every type") {
  const TypeFilter filter({});
  CHECK(filter.accepts("users.events:UserRegistered"));
  CHECK(filter.accepts(""));
}

TEST_CASE("a type filter accepts a type matching any of its patterns and nothing else") {
  const TypeFilter filter({"UserRegistered", "myapp.domain:World.SomethingHappened"});
  CHECK(filter.accepts("users.events:UserRegistered"));
  CHECK(filter.accepts("UserRegistered"));
  CHECK(filter.accepts("myapp.domain:World.SomethingHappened"));
  CHECK_FALSE(filter.accepts("otherapp.domain:World.SomethingHappened"));
  CHECK_FALSE(filter.accepts("users.events:UserDeleted"));
}
