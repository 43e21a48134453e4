// The users handler's fold (handlers/users_handler.hpp) as the catch-up sees it, without a server: its memory
// estimate, which decides when a catch-up's transaction is full, and its budget from `fold_memory`.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "handlers/registry.hpp"

using namespace projectord;

namespace {

std::unique_ptr<handlers::ProjectionHandler> users_handler(std::int64_t fold_memory) {
  config::Handler config;
  config.name = "users";
  config.kind = "users";
  config.table = "user_projection";
  config.options["fold_memory"] = fold_memory;
  auto made = handlers::make_projection(config);
  REQUIRE(made.has_value());
  return std::move(*made);
}

Event registration(Position position, const std::string& user) {
  Event event;
  event.position = position;
  event.stream_id = "5f0c8e7a-user-" + user + "-0000-000000000000";
  event.version = 1;
  event.type = "users.events:UserRegistered";
  event.recorded_at = "2026-12-05T10:00:00.000000+00:00";
  event.data = boost::json::parse(R"({"username": ")" + user + R"(", "email": ")" + user +
                                  R"(@mail.example.com", "first_name": "A", "last_name": "B"})");
  return event;
}

std::vector<Event> registrations(Position first, Position last) {
  std::vector<Event> events;
  for (Position position = first; position <= last; ++position) {
    events.push_back(registration(position, "user" + std::to_string(position)));
  }
  return events;
}

}  // namespace

TEST_CASE("the users fold's memory estimate grows with each user folded, not with a user's further events") {
  auto handler = users_handler(std::int64_t{256} << 20);
  handlers::Folding& folding = *handler->folding();
  CHECK(folding.memory_budget() == std::size_t{256} << 20);
  CHECK(folding.folded_bytes() == 0);

  folding.fold(registrations(1, 100));
  const std::size_t hundred_users = folding.folded_bytes();
  // Each user holds at least its fold's two row outcomes, and less than a few kilobytes.
  CHECK(hundred_users >= 100 * 2 * 8 * sizeof(std::string));
  CHECK(hundred_users <= 100 * 4096);

  // The same user registered again: its values replaced, no new user.
  folding.fold(std::vector<Event>{registration(101, "user1")});
  CHECK(folding.folded_bytes() <= hundred_users + 64);
  folding.fold(registrations(102, 201));
  CHECK(folding.folded_bytes() >= 2 * hundred_users - 64);
}

TEST_CASE("the users fold's memory estimate is empty again once the fold is sealed or discarded") {
  auto handler = users_handler(std::int64_t{1} << 20);
  handlers::Folding& folding = *handler->folding();
  folding.fold(registrations(1, 10));
  REQUIRE(folding.folded_bytes() > 0);

  SECTION("sealed") {
    const auto sealed = folding.seal();
    CHECK(folding.folded_bytes() == 0);
  }
  SECTION("discarded") {
    handler->discard();
    CHECK(folding.folded_bytes() == 0);
  }
}
