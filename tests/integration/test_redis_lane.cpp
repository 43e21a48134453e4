// A lane fed by a Redis stream (RedisGroupSource) into a real PostgreSQL read model: catch-up and live, XACK
// only after the commit, redelivered entries skipped (the read model's primary key on the position turns a
// double application into an error), a dead consumer's pending entries claimed in order, a malformed entry
// dead-lettered, a connection killed mid-stream; and a rebuild's range source refusing a trimmed stream.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "checkpoints/schema.hpp"
#include "sources/redis/group_source.hpp"
#include "sources/redis/range_source.hpp"
#include "daemon/lane.hpp"
#include "handlers/registry.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/redis_test_stream.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::testing::eventually;
using projectord::testing::RunningLane;
using projectord::testing::TestDatabase;
using projectord::testing::TestStream;
namespace config = projectord::config;
namespace sources = projectord::sources;

namespace {

config::Handler counted_handler(const std::string& source, config::OnError on_error = config::OnError::stop) {
  config::Handler handler;
  handler.name = "counted";
  handler.kind = "sql";
  handler.source = source;
  handler.on_error = on_error;
  handler.max_attempts = 2;
  handler.retry_backoff = 1ms;
  handler.retry_backoff_max = 2ms;
  handler.setup = "CREATE TABLE IF NOT EXISTS counted (position bigint PRIMARY KEY, n integer)";
  handler.statements.push_back(
      {.on = "Added", .sql = "INSERT INTO counted (position, n) VALUES ($1, $2::integer)",
       .params = {"position", "data.n"}, .line = 1});
  return handler;
}


config::RedisSource lane_source(const TestStream& stream) {
  config::RedisSource source = stream.source();
  source.consumer = "lane";
  source.block = 200ms;
  source.claim_idle = 300ms;
  source.batch_size = 50;
  return source;
}

const std::string kCountedGroup = "projectord:counted";
const projectord::SteadyClock kClock;


std::unique_ptr<projectord::Source> group_source(const TestStream& stream) {
  return std::make_unique<projectord::RedisGroupSource>(lane_source(stream), "counted", kClock);
}

}  // namespace

std::int64_t rows(const TestDatabase& db) {
  try {
    return db.query_int("SELECT count(*) FROM counted");
  } catch (const pqxx::undefined_table&) {
    return -1;
  }
}

projectord::Position counted_checkpoint(const TestDatabase& db) {
  return db.query_int("SELECT coalesce(max(position), 0) FROM projectord.checkpoints WHERE handler = 'counted'");
}

projectord::Position position_of(const sources::StreamEntryId& id) { return *id.position(); }

TEST_CASE("a redis-fed lane applies the stream, then new entries, acknowledging only what committed", "[redis]") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  TestStream stream;
  auto ids = stream.add(120);
  RunningLane lane(db, group_source(stream), counted_handler("orders"));
  REQUIRE(eventually([&] { return rows(db) == 120; }));
  REQUIRE(eventually([&] { return stream.pending(kCountedGroup) == 0; }));
  CHECK(counted_checkpoint(db) == position_of(ids.back()));

  const auto more = stream.add(5);
  REQUIRE(eventually([&] { return rows(db) == 125; }));
  CHECK(db.query_int("SELECT sum(n) FROM counted") == 119 * 120 / 2 + 0 + 1 + 2 + 3 + 4);
  REQUIRE(eventually([&] { return counted_checkpoint(db) == position_of(more.back()); }));
  REQUIRE(eventually([&] { return stream.pending(kCountedGroup) == 0; }));
  CHECK(lane.status().failed_attempts == 0);
  // Its lag is counted in entries, not in entry-id positions.
  REQUIRE(eventually([&] { return lane.status().lag_events == std::optional<std::int64_t>(0); }));
}

TEST_CASE("entries redelivered after a lost XACK are acknowledged and skipped, never applied twice", "[redis]") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  TestStream stream;
  stream.add(30);
  {
    RunningLane lane(db, group_source(stream), counted_handler("orders"));
    REQUIRE(eventually([&] { return rows(db) == 30 && stream.pending(kCountedGroup) == 0; }));
  }
  // The group forgets every delivery, as if no XACK had reached it: all 30 come again as new entries.
  stream.admin("XGROUP", "SETID", stream.key, kCountedGroup, "0");
  const auto more = stream.add(5);
  RunningLane lane(db, group_source(stream), counted_handler("orders"));
  REQUIRE(eventually([&] { return rows(db) == 35; }));
  REQUIRE(eventually([&] { return stream.pending(kCountedGroup) == 0; }));
  CHECK(counted_checkpoint(db) == position_of(more.back()));
  CHECK(lane.status().failed_attempts == 0);  // a double application would fail on the primary key
  CHECK(lane.status().state != projectord::LaneState::halted);
}

TEST_CASE("a redis-fed lane takes over a dead consumer's pending entries at once, without waiting out claim_idle,"
          " and applies them before the entries after them", "[redis]") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  TestStream stream;
  stream.add(10);
  {
    sources::RedisStreamReader dead(lane_source(stream), kCountedGroup, "dead");
    projectord::testing::succeeded(dead.connect(5s));
    projectord::testing::succeeded(dead.ensure_group());
    REQUIRE(projectord::testing::value_of(dead.read_new(10, 0ms)).size() == 10);  // then it dies
  }
  const auto later = stream.add(10);
  config::RedisSource source = lane_source(stream);
  source.claim_idle = 1h;
  RunningLane lane(db, std::make_unique<projectord::RedisGroupSource>(source, "counted", kClock),
                   counted_handler("orders"));
  REQUIRE(eventually([&] { return rows(db) == 20; }));
  REQUIRE(eventually([&] { return stream.pending(kCountedGroup) == 0; }));
  CHECK(counted_checkpoint(db) == position_of(later.back()));
  CHECK(db.query_int("SELECT sum(n) FROM counted") == 2 * (9 * 10 / 2));
  CHECK(lane.status().failed_attempts == 0);
}

TEST_CASE("a malformed entry is dead-lettered with its error, acknowledged, and the lane goes on", "[redis]") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  TestStream stream;
  stream.add(1);
  const auto bad = stream.admin("XADD", stream.key, "*", "type", "Added", "stream_id", "s-9", "data", "{not json");
  stream.add(1);
  RunningLane lane(db, group_source(stream), counted_handler("orders", config::OnError::dead_letter));
  REQUIRE(eventually([&] { return rows(db) == 2; }));
  REQUIRE(eventually([&] { return stream.pending(kCountedGroup) == 0; }));
  const auto bad_id = *sources::StreamEntryId::parse(bad.text);
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters WHERE handler = 'counted'") == position_of(bad_id));
  const std::string error = db.query_value("SELECT error FROM projectord.dead_letters WHERE handler = 'counted'");
  CHECK_THAT(error, Catch::Contains(bad.text) && Catch::Contains("data") && Catch::Contains("orders"));
  CHECK(db.query_value("SELECT stream_id FROM projectord.dead_letters WHERE handler = 'counted'") == "s-9");
}

// Ids beyond the positions: a sequence beyond 21 bits in one millisecond (the next millisecond maps again),
// then milliseconds beyond 42 bits (every id Redis generates after it is beyond too).
namespace {

std::vector<std::string> add_ids_beyond_positions(TestStream& stream) {
  std::vector<std::string> ids;
  int n = 0;
  for (const std::string id : {"1000-1", "1000-3000000", "1000-3000001", "1001-0", "9999999999999999-0", "*"}) {
    ++n;
    ids.push_back(stream.admin("XADD", stream.key, id, "type", "Added", "stream_id", "s-" + std::to_string(n), "data",
                               R"({"n":)" + std::to_string(n) + "}")
                      .text);
  }
  return ids;
}

std::int64_t dead_letters(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'counted'");
}

}  // namespace

TEST_CASE("entries whose ids have no position get a dead letter each that names them, and the lane goes on",
          "[redis]") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  TestStream stream;
  const auto ids = add_ids_beyond_positions(stream);
  RunningLane lane(db, group_source(stream), counted_handler("orders", config::OnError::dead_letter));
  REQUIRE(eventually([&] { return rows(db) == 2 && dead_letters(db) == 4; }));
  REQUIRE(eventually([&] { return stream.pending(kCountedGroup) == 0; }));
  CHECK(db.query_int("SELECT sum(n) FROM counted") == 1 + 4);
  const std::string named =
      "SELECT string_agg(payload::json->>'entry_id', ',' ORDER BY position) FROM projectord.dead_letters"
      " WHERE handler = 'counted'";
  CHECK(db.query_value(named) == ids[1] + "," + ids[2] + "," + ids[4] + "," + ids[5]);
  CHECK(db.query_value("SELECT string_agg(stream_id, ',' ORDER BY position) FROM projectord.dead_letters"
                       " WHERE handler = 'counted'") == "s-2,s-3,s-5,s-6");

  const auto later = stream.admin("XADD", stream.key, "*", "type", "Added", "data", R"({"n":7})").text;
  REQUIRE(eventually([&] { return dead_letters(db) == 5 && stream.pending(kCountedGroup) == 0; }));
  CHECK(db.query_value(named) == ids[1] + "," + ids[2] + "," + ids[4] + "," + ids[5] + "," + later);

  // A retry reads a stand-in position again: it says why it cannot, and reads no other entry in its place.
  projectord::RedisRangeSource range(lane_source(stream));
  range.open("test", {});
  const auto stand_in = db.query_int("SELECT min(position) FROM projectord.dead_letters WHERE handler = 'counted'");
  const auto again = range.read_at(stand_in);
  REQUIRE(again.has_value());
  REQUIRE(std::holds_alternative<projectord::Undecodable>(again->content));
  CHECK_THAT(std::get<projectord::Undecodable>(again->content).error, Catch::Contains("cannot be read again"));
}

TEST_CASE("a rebuild's range source replays entries whose ids have no position once, at positions of their own",
          "[redis]") {
  TestStream stream;
  add_ids_beyond_positions(stream);
  projectord::RedisRangeSource range(lane_source(stream));
  range.open("test", {});
  const projectord::SourceBatch all = range.read(0, 100, {});
  REQUIRE(all.rows.size() == 6);
  for (std::size_t i = 1; i < all.rows.size(); ++i) CHECK(all.rows[i - 1].position < all.rows[i].position);
  CHECK(all.to == all.rows.back().position);
  CHECK(range.read(all.to, 100, {}).rows.empty());
}

TEST_CASE("a redis-fed lane whose connection is killed mid-stream reconnects and loses nothing", "[redis]") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  TestStream stream;
  stream.add(50);
  RunningLane lane(db, group_source(stream), counted_handler("orders"));
  REQUIRE(eventually([&] { return rows(db) == 50; }));
  stream.admin("CLIENT", "KILL", "USER", stream.user);
  stream.add(50);
  REQUIRE(eventually([&] { return rows(db) == 100 && stream.pending(kCountedGroup) == 0; }));
  CHECK(lane.status().reconnects >= 1);
  CHECK(db.query_int("SELECT sum(n) FROM counted") == 2 * (49 * 50 / 2));
}

TEST_CASE("a rebuild's range source replays the stream, and refuses one trimmed past its checkpoint", "[redis]") {
  TestStream stream;
  const auto ids = stream.add(10);
  projectord::RedisRangeSource whole(lane_source(stream));
  whole.open("test", {});
  const projectord::SourceBatch all = whole.read(0, 100, {});
  CHECK(all.rows.size() == 10);
  CHECK(all.to == position_of(ids.back()));
  CHECK(all.head == position_of(ids.back()));

  stream.admin("XTRIM", stream.key, "MAXLEN", "5");
  projectord::RedisRangeSource from_start(lane_source(stream));
  from_start.open("test", {});
  CHECK_THROWS_WITH(from_start.read(0, 100, {}), Catch::Contains("trimmed") && Catch::Contains(stream.key) &&
                                                     Catch::Contains("partial read model"));
  // A rebuild already past the trimmed entries still has everything it needs.
  projectord::RedisRangeSource resumed(lane_source(stream));
  resumed.open("test", {});
  CHECK(resumed.read(position_of(ids[5]), 100, {}).rows.size() == 4);
}

TEST_CASE("a one-shot redis-fed run re-reads its pending entries and still reads the new ones before it ends",
          "[redis]") {
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  TestStream stream;
  stream.add(5);
  {
    // The lane's own consumer read these and died before applying them.
    sources::RedisStreamReader earlier(lane_source(stream), kCountedGroup, "lane");
    projectord::testing::succeeded(earlier.connect(5s));
    projectord::testing::succeeded(earlier.ensure_group());
    REQUIRE(projectord::testing::value_of(earlier.read_new(5, 0ms)).size() == 5);
  }
  stream.add(5);
  RunningLane lane(db, group_source(stream), counted_handler("orders"), {.exit_when_caught_up = true});
  REQUIRE(eventually([&] { return lane.status().state == projectord::LaneState::stopped; }));
  CHECK(rows(db) == 10);
}
