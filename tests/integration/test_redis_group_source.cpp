// RedisGroupSource against the real Redis of PROJECTORD_TEST_REDIS, without a lane: how a source that owns its
// handler alone takes over what an earlier owner left pending, and how one that does not waits for it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "sources/redis/group_source.hpp"
#include "tests/support/redis_test_stream.hpp"
#include "tests/support/test_database.hpp"

namespace {

using namespace std::chrono_literals;
using projectord::Position;
using projectord::RedisGroupSource;
using projectord::SourceBatch;
using projectord::sources::RedisStreamReader;
using projectord::sources::StreamEntryId;
using projectord::testing::eventually;
using projectord::testing::succeeded;
using projectord::testing::TestStream;
using projectord::testing::value_of;

const std::string kOrdersView = "orders_view";
const std::string kOrdersViewGroup = "projectord:" + kOrdersView;
const projectord::SteadyClock kSteadyClock;

projectord::config::RedisSource source_for(const TestStream& stream, const std::string& consumer,
                                           std::chrono::milliseconds claim_idle) {
  auto source = stream.source();
  source.consumer = consumer;
  source.block = 50ms;
  source.claim_idle = claim_idle;
  source.batch_size = 100;
  return source;
}

// A consumer of the handler's group that reads `count` new entries and dies without acknowledging them.
void read_and_die(const TestStream& stream, const std::string& consumer, std::size_t count) {
  RedisStreamReader reader(source_for(stream, consumer, 1h), kOrdersViewGroup, consumer);
  succeeded(reader.connect(5s));
  succeeded(reader.ensure_group());
  REQUIRE(value_of(reader.read_new(count, 0ms)).size() == count);
}

std::vector<Position> positions(const SourceBatch& batch) {
  std::vector<Position> read;
  for (const auto& row : batch.rows) read.push_back(row.position);
  return read;
}

std::vector<Position> positions(const std::vector<StreamEntryId>& ids) {
  std::vector<Position> all;
  for (const auto& id : ids) all.push_back(*id.position());
  return all;
}

std::vector<std::string> consumers(TestStream& stream) {
  std::vector<std::string> names;
  for (const auto& consumer : stream.admin("XINFO", "CONSUMERS", stream.key, kOrdersViewGroup).elements) {
    names.push_back(consumer.elements.at(1).text);
  }
  std::ranges::sort(names);
  return names;
}

}  // namespace

TEST_CASE("a group source that owns its handler alone takes over a dead consumer's pending entries at once, "
          "whatever claim_idle",
          "[redis]") {
  TestStream stream;
  const auto ids = stream.add(10);
  read_and_die(stream, "first", 6);
  RedisGroupSource second(source_for(stream, "second", 1h), kOrdersView, kSteadyClock);
  second.open("test", {});
  const std::stop_source never;

  SECTION("as sole owner, it reads them first, in order, then the entries after them") {
    second.sole_owner();
    const SourceBatch taken = second.read(0, 100, never.get_token());
    CHECK_FALSE(taken.blocked);
    CHECK(taken.truncated);  // new entries may wait behind them
    CHECK(positions(taken) == positions({ids.begin(), ids.begin() + 6}));
    CHECK(stream.admin("XPENDING", stream.key, kOrdersViewGroup, "-", "+", "10", "first").elements.empty());
    const SourceBatch after = second.read(taken.to, 100, never.get_token());
    CHECK(positions(after) == positions({ids.begin() + 6, ids.end()}));
    second.committed(after.to);
    CHECK(stream.pending(kOrdersViewGroup) == 0);
  }
  SECTION("without sole ownership, it waits for them and says it waits for another reader") {
    const SourceBatch waiting = second.read(0, 100, never.get_token());
    CHECK(waiting.rows.empty());
    CHECK(waiting.blocked);
    CHECK(waiting.waits_for == SourceBatch::Wait::other_reader);
    CHECK(stream.pending(kOrdersViewGroup) == 6);
  }
}

TEST_CASE("a group source that owns its handler alone deletes the consumers that hold nothing once idle for "
          "claim_idle",
          "[redis]") {
  TestStream stream;
  stream.add(3);
  read_and_die(stream, "first", 2);
  read_and_die(stream, "earlier", 1);
  RedisGroupSource second(source_for(stream, "second", 100ms), kOrdersView, kSteadyClock);
  second.open("test", {});
  second.sole_owner();
  const std::stop_source never;
  Position at = 0;
  REQUIRE(eventually([&] {
    const SourceBatch batch = second.read(at, 100, never.get_token());
    at = batch.to;
    second.committed(at);
    return consumers(stream) == std::vector<std::string>{"second"};
  }));
  CHECK(stream.pending(kOrdersViewGroup) == 0);
}
