#include <catch2/catch.hpp>

#include "daemon/control_channel.hpp"

TEST_CASE("the control channel reads 'ACTION HANDLER' payloads and gives clear errors for the rest") {
  using projectord::parse_control;
  using projectord::http::AdminAction;
  const auto rebuild = parse_control("rebuild users");
  REQUIRE(rebuild.has_value());
  CHECK(rebuild->action == AdminAction::rebuild);
  CHECK(rebuild->handler == "users");
  CHECK(parse_control("skip user_log")->action == AdminAction::skip);
  CHECK_THAT(parse_control("rebuild").error(), Catch::Contains("expected 'rebuild HANDLER'"));
  CHECK_THAT(parse_control("rebuild a b").error(), Catch::Contains("expected 'rebuild HANDLER'"));
  CHECK(parse_control("drop users")->action == AdminAction::drop);
  CHECK(parse_control("retry users")->action == AdminAction::retry);
  CHECK_FALSE(parse_control("retry users")->dead_letter.has_value());  // all of them
  CHECK_THAT(parse_control("truncate users").error(), Catch::Contains("unknown action 'truncate'"));
  CHECK_FALSE(parse_control("").has_value());
}
