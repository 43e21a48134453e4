#include <catch2/catch.hpp>

#include "daemon/partition_lanes.hpp"

using projectord::lanes_named;
using projectord::partition_lanes;

namespace {

projectord::config::Config two_handlers() {
  projectord::config::Config config;
  config.handlers["users"].name = "users";
  config.handlers["hook"].name = "hook";
  config.handlers["hook"].kind = "webhook";
  config.handlers["hook"].partitions = 3;
  return config;
}

}  // namespace

TEST_CASE("a partitioned handler runs as one lane per partition, each a handler of its own") {
  const projectord::config::Config lanes = partition_lanes(two_handlers());
  REQUIRE(lanes.handlers.size() == 4);
  CHECK_FALSE(lanes.handlers.at("users").partition);
  for (std::int64_t index = 0; index < 3; ++index) {
    const projectord::config::Handler& lane = lanes.handlers.at("hook/" + std::to_string(index));
    CHECK(lane.name == "hook/" + std::to_string(index));
    CHECK(lane.kind == "webhook");
    CHECK(lane.partition == projectord::config::Partition{"hook", index, 3});
  }
  // Its lanes stand for the partitioned handler's name; a lane's own name is that lane.
  CHECK(lanes_named(lanes, "hook") == std::vector<std::string>{"hook/0", "hook/1", "hook/2"});
  CHECK(lanes_named(lanes, "hook/1") == std::vector<std::string>{"hook/1"});
  CHECK(lanes_named(lanes, "users") == std::vector<std::string>{"users"});
  CHECK(lanes_named(lanes, "nobody").empty());
}
