// sources::RedisStreamReader against the real Redis of PROJECTORD_TEST_REDIS. The server is shared by tests running
// in parallel: each test has a stream key and an ACL user of its own, so that CLIENT LIST and CLIENT KILL USER see
// this test's connections only. Waits poll the server under a deadline; no test sleeps to let something happen.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/redis/client.hpp"
#include "sources/redis/stream_reader.hpp"
#include "tests/support/redis_test_stream.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_redis.hpp"

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using projectord::Result;
using projectord::config::RedisSource;
using projectord::redis::RedisClient;
using projectord::redis::Reply;
using projectord::sources::RedisStreamReader;
using projectord::sources::StreamEntry;
using projectord::sources::StreamEntryId;
using projectord::testing::Admin;
using projectord::testing::eventually;
using projectord::testing::kStreamUserPassword;
using projectord::testing::succeeded;
using projectord::testing::test_redis_url;
using projectord::testing::TestStream;
using projectord::testing::unique_redis_name;
using projectord::testing::value_of;
using Steady = std::chrono::steady_clock;
using Ids = std::vector<StreamEntryId>;

const std::string kReaderGroup = "projectord:orders_view";

Ids ids_of(const std::vector<StreamEntry>& entries) {
  Ids ids;
  for (const auto& entry : entries) ids.push_back(entry.id);
  return ids;
}

// A reader for `consumer` of kReaderGroup, connected as the test stream's user.
std::unique_ptr<RedisStreamReader> connected(const TestStream& stream, const std::string& consumer,
                                             std::string start = "0") {
  auto reader = std::make_unique<RedisStreamReader>(stream.source(std::move(start)), kReaderGroup, consumer);
  succeeded(reader->connect(5s));
  return reader;
}

// The same, with the group ensured.
std::unique_ptr<RedisStreamReader> group_reader(const TestStream& stream, const std::string& consumer,
                                                std::string start = "0") {
  auto reader = connected(stream, consumer, std::move(start));
  succeeded(reader->ensure_group());
  return reader;
}

// Runs read_new(10, block) on another thread.
std::future<Result<std::vector<StreamEntry>>> read_in_background(RedisStreamReader& reader,
                                                                 std::chrono::milliseconds block) {
  return std::async(std::launch::async, [&reader, block] { return reader.read_new(10, block); });
}

struct EndedRead {
  Result<std::vector<StreamEntry>> result;
  Steady::duration after;  ///< from the start of `end` to the read's return
};

// Blocks `reader` in read_new(10, 10 s) on another thread, calls `end` once the server shows the read blocked,
// and waits for the read to return. A read ended "at once" returns in under half its block (`after` < 5 s): a
// margin no busy machine uses up.
EndedRead end_blocked_read(TestStream& stream, RedisStreamReader& reader, const std::function<void()>& end) {
  auto read = read_in_background(reader, 10s);
  REQUIRE(eventually([&] { return stream.connections(true) == 1; }));
  const auto start = Steady::now();
  end();
  REQUIRE(read.wait_for(5s) == std::future_status::ready);
  return {read.get(), Steady::now() - start};
}

// A loopback port that accepts connections (the kernel completes the handshake) and never answers.
class SilentServer {
 public:
  SilentServer() : acceptor_(io_, net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0)) {}
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  net::io_context io_;
  net::ip::tcp::acceptor acceptor_;
};

}  // namespace

namespace Catch {
template <>
struct StringMaker<StreamEntryId> {
  static std::string convert(const StreamEntryId& id) { return id.text(); }
};
}  // namespace Catch

TEST_CASE("the stream reader's ensure_group creates the group once where source.start says, and the stream",
          "[redis]") {
  TestStream stream;
  SECTION("start 0: the group sees the entries added before it") {
    const auto before = stream.add(2);
    auto reader = group_reader(stream, "c", "0");
    succeeded(reader->ensure_group());
    CHECK(ids_of(value_of(reader->read_new(10, 0ms))) == before);
  }
  SECTION("start $: the group sees only entries added after it, and a later start 0 does not move it") {
    stream.add(2);
    auto reader = group_reader(stream, "c", "$");
    succeeded(reader->ensure_group());
    succeeded(group_reader(stream, "d", "0")->ensure_group());
    CHECK(value_of(reader->read_new(10, 0ms)).empty());
    const auto after = stream.add(1);
    CHECK(ids_of(value_of(reader->read_new(10, 0ms))) == after);
  }
  SECTION("a missing stream is created, empty, with the group") {
    auto reader = group_reader(stream, "c");
    CHECK(stream.admin("EXISTS", stream.key).integer == 1);
    CHECK(value_of(reader->info()).length == 0);
    const auto groups = stream.admin("XINFO", "GROUPS", stream.key);
    REQUIRE(groups.elements.size() == 1);
    CHECK(groups.elements[0].elements.at(1).text == kReaderGroup);
  }
}

TEST_CASE("a stream reader's consumer reads its own pending entries after an id, then new ones", "[redis]") {
  TestStream stream;
  const auto first = stream.add(3);
  CHECK(ids_of(value_of(group_reader(stream, "c")->read_new(10, 0ms))) == first);  // never acknowledged
  const auto later = stream.add(2);

  auto reader = group_reader(stream, "c");  // the same consumer after a restart
  const auto pending = value_of(reader->read_pending(StreamEntryId{}, 10));
  CHECK(ids_of(pending) == first);
  REQUIRE(pending.size() == 3);
  CHECK(pending[2].fields ==
        std::vector<std::pair<std::string, std::string>>{{"type", "Added"}, {"data", R"({"n":2})"}});
  CHECK(ids_of(value_of(reader->read_pending(first[0], 10))) == Ids{first[1], first[2]});
  CHECK(ids_of(value_of(reader->read_pending(StreamEntryId{}, 2))) == Ids{first[0], first[1]});
  CHECK(value_of(reader->read_pending(first[2], 10)).empty());
  CHECK(value_of(group_reader(stream, "other")->read_pending(StreamEntryId{}, 10)).empty());

  CHECK(ids_of(value_of(reader->read_new(10, 0ms))) == later);
  CHECK(value_of(reader->read_new(10, 0ms)).empty());
  CHECK(value_of(reader->read_pending(StreamEntryId{}, 10)).size() == 5);
}

TEST_CASE("a pending entry deleted from the stream comes back to the stream reader without fields", "[redis]") {
  TestStream stream;
  const auto ids = stream.add(3);
  auto reader = group_reader(stream, "c");
  CHECK(value_of(reader->read_new(10, 0ms)).size() == 3);
  CHECK(stream.admin("XDEL", stream.key, ids[1].text()).integer == 1);
  const auto pending = value_of(reader->read_pending(StreamEntryId{}, 10));
  REQUIRE(ids_of(pending) == ids);
  CHECK_FALSE(pending[0].fields.empty());
  CHECK(pending[1].fields.empty());
  CHECK_FALSE(pending[2].fields.empty());
}

TEST_CASE("the stream reader's read_new waits for its block when nothing comes and returns empty", "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  auto start = Steady::now();
  CHECK(value_of(reader->read_new(10, 300ms)).empty());
  const auto waited = Steady::now() - start;
  CHECK(waited >= 290ms);
  CHECK(waited < 30s);  // a block read as seconds would wait 300 s

  start = Steady::now();
  CHECK(value_of(reader->read_new(10, 0ms)).empty());
  CHECK(Steady::now() - start < 30s);  // block 0 does not wait (Redis's BLOCK 0 would wait forever)
}

TEST_CASE("the stream reader's blocked read_new returns as soon as an entry comes", "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  Ids added;
  const auto ended = end_blocked_read(stream, *reader, [&] { added = stream.add(1); });
  CHECK(ended.after < 5s);
  CHECK(ids_of(value_of(ended.result)) == added);
}

TEST_CASE("the stream reader's interrupt from another thread ends a 10 s block at once and the reader goes on",
          "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  const auto ended = end_blocked_read(stream, *reader, [&] { reader->interrupt(); });
  CHECK(ended.after < 5s);
  CHECK(value_of(ended.result).empty());

  // The same connection serves the next read (CLIENT UNBLOCK, not a close), and the helper connection is gone.
  const auto added = stream.add(1);
  CHECK(ids_of(value_of(reader->read_new(10, 1s))) == added);
  CHECK(eventually([&] { return stream.connections() == 1; }));
}

TEST_CASE("a stream reader interrupt before read_new ends that read at once and only that one", "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  reader->interrupt();
  auto start = Steady::now();
  CHECK(value_of(reader->read_new(10, 10s)).empty());
  CHECK(Steady::now() - start < 5s);  // less than half its block

  start = Steady::now();
  CHECK(value_of(reader->read_new(10, 300ms)).empty());
  CHECK(Steady::now() - start >= 290ms);
}

TEST_CASE("stream reader interrupts racing the start of reads never leave one blocked", "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  for (int round = 0; round < 30; ++round) {
    INFO("round " << round);
    auto read = read_in_background(*reader, 10s);
    if (round % 3 == 1) std::this_thread::yield();
    reader->interrupt();
    REQUIRE(read.wait_for(5s) == std::future_status::ready);
    CHECK(value_of(read.get()).empty());
  }
  // Never closed for an interrupt: the same connection still reads.
  const auto added = stream.add(1);
  CHECK(ids_of(value_of(reader->read_new(10, 1s))) == added);
}

TEST_CASE(
    "without CLIENT UNBLOCK a stream reader interrupt closes the connection, the next call fails, and connect() "
    "recovers",
    "[redis]") {
  TestStream stream("-client|unblock");
  auto reader = group_reader(stream, "c");
  const auto ended = end_blocked_read(stream, *reader, [&] { reader->interrupt(); });
  CHECK(ended.after < 5s);
  CHECK(value_of(ended.result).empty());

  const auto next = reader->read_new(10, 0ms);
  REQUIRE_FALSE(next.has_value());
  CHECK_THAT(next.error(), Catch::Contains("XREADGROUP") && Catch::Contains(test_redis_url().endpoint()) &&
                               Catch::Contains("closed"));
  succeeded(reader->connect(5s));
  const auto added = stream.add(1);
  CHECK(ids_of(value_of(reader->read_new(10, 0ms))) == added);
}

TEST_CASE("the stream reader's ack removes entries from the group's pending list", "[redis]") {
  TestStream stream;
  const auto ids = stream.add(3);
  auto reader = group_reader(stream, "c");
  CHECK(value_of(reader->read_new(10, 0ms)).size() == 3);
  CHECK(stream.pending(kReaderGroup) == 3);
  const Ids acked{ids[0], ids[2]};
  succeeded(reader->ack(acked));
  CHECK(stream.pending(kReaderGroup) == 1);
  CHECK(ids_of(value_of(reader->read_pending(StreamEntryId{}, 10))) == Ids{ids[1]});
  succeeded(reader->ack(acked));  // again: nothing left to acknowledge, and no error
  succeeded(reader->ack({}));
  CHECK(stream.pending(kReaderGroup) == 1);
}

TEST_CASE("the stream reader's claim_idle takes over what a dead consumer read and never acknowledged", "[redis]") {
  TestStream stream;
  const auto ids = stream.add(3);
  CHECK(value_of(group_reader(stream, "dead")->read_new(10, 0ms)).size() == 3);
  auto alive = group_reader(stream, "alive");
  CHECK(value_of(alive->read_pending(StreamEntryId{}, 10)).empty());

  SECTION("all of it") {
    const auto claimed = value_of(alive->claim_idle(0ms, 10));
    CHECK(ids_of(claimed) == ids);
    REQUIRE(claimed.size() == 3);
    CHECK(claimed[0].fields ==
          std::vector<std::pair<std::string, std::string>>{{"type", "Added"}, {"data", R"({"n":0})"}});
    CHECK(ids_of(value_of(alive->read_pending(StreamEntryId{}, 10))) == ids);
    CHECK(value_of(group_reader(stream, "dead")->read_pending(StreamEntryId{}, 10)).empty());
    CHECK(stream.pending(kReaderGroup) == 3);
  }
  SECTION("at most `count`, the lowest ids first") {
    CHECK(ids_of(value_of(alive->claim_idle(0ms, 2))) == Ids{ids[0], ids[1]});
    CHECK(ids_of(value_of(alive->read_pending(StreamEntryId{}, 10))) == Ids{ids[0], ids[1]});
    CHECK(ids_of(value_of(group_reader(stream, "dead")->read_pending(StreamEntryId{}, 10))) == Ids{ids[2]});
  }
  SECTION("nothing idle for min_idle yet") {
    CHECK(value_of(alive->claim_idle(1h, 10)).empty());
    CHECK(value_of(alive->read_pending(StreamEntryId{}, 10)).empty());
  }
}

TEST_CASE("the stream reader's oldest_pending_elsewhere is the lowest entry another consumer holds", "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  CHECK_FALSE(value_of(reader->oldest_pending_elsewhere()).has_value());
  const auto ids = stream.add(4);
  auto b = group_reader(stream, "b");
  auto a = group_reader(stream, "a");
  CHECK(ids_of(value_of(reader->read_new(1, 0ms))) == Ids{ids[0]});  // its own: never "elsewhere"
  CHECK(ids_of(value_of(b->read_new(1, 0ms))) == Ids{ids[1]});
  CHECK(ids_of(value_of(a->read_new(2, 0ms))) == (Ids{ids[2], ids[3]}));

  auto oldest = value_of(reader->oldest_pending_elsewhere());
  REQUIRE(oldest.has_value());
  CHECK(oldest->id == ids[1]);
  CHECK(oldest->consumer == "b");
  oldest = value_of(reader->oldest_pending_elsewhere(ids[1]));  // only above ids[1]
  REQUIRE(oldest.has_value());
  CHECK(oldest->id == ids[2]);
  succeeded(b->ack(Ids{ids[1]}));
  oldest = value_of(reader->oldest_pending_elsewhere());
  REQUIRE(oldest.has_value());
  CHECK(oldest->id == ids[2]);
  CHECK(oldest->consumer == "a");
  succeeded(a->ack(Ids{ids[2], ids[3]}));
  CHECK_FALSE(value_of(reader->oldest_pending_elsewhere()).has_value());
}

TEST_CASE("the stream reader's claim_pending_elsewhere takes every other consumer's entries at once, a page at a time",
          "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  CHECK(value_of(reader->claim_pending_elsewhere()) == 0);
  // More than one XPENDING page (1000) on one consumer.
  const auto ids = stream.add(1203);
  auto a = group_reader(stream, "a");
  auto b = group_reader(stream, "b");
  CHECK(ids_of(value_of(reader->read_new(1, 0ms))) == Ids{ids[0]});
  CHECK(value_of(a->read_new(1200, 0ms)).size() == 1200);
  CHECK(value_of(b->read_new(2, 0ms)).size() == 2);

  CHECK(value_of(reader->claim_pending_elsewhere()) == 1202);  // idle for a moment only: taken all the same
  CHECK(ids_of(value_of(reader->read_pending(StreamEntryId{}, 2000))) == ids);
  CHECK(value_of(a->read_pending(StreamEntryId{}, 10)).empty());
  CHECK(value_of(b->read_pending(StreamEntryId{}, 10)).empty());
  CHECK(stream.pending(kReaderGroup) == 1203);
  CHECK(value_of(reader->claim_pending_elsewhere()) == 0);
}

TEST_CASE("the stream reader's forget_idle_consumers deletes other consumers that hold nothing and are idle",
          "[redis]") {
  TestStream stream;
  stream.add(1);
  auto reader = group_reader(stream, "c");
  CHECK(value_of(group_reader(stream, "holder")->read_new(1, 0ms)).size() == 1);
  stream.admin("XGROUP", "CREATECONSUMER", stream.key, kReaderGroup, "empty");
  stream.admin("XGROUP", "CREATECONSUMER", stream.key, kReaderGroup, "c");
  const auto consumers = [&] {
    std::vector<std::string> names;
    for (const auto& consumer : stream.admin("XINFO", "CONSUMERS", stream.key, kReaderGroup).elements) {
      names.push_back(consumer.elements.at(1).text);
    }
    std::ranges::sort(names);
    return names;
  };
  REQUIRE(consumers() == std::vector<std::string>{"c", "empty", "holder"});

  CHECK(value_of(reader->forget_idle_consumers(1h)).empty());
  CHECK(value_of(reader->forget_idle_consumers(0ms)) == std::vector<std::string>{"empty"});  // never itself
  CHECK(consumers() == std::vector<std::string>{"c", "holder"});
  CHECK(stream.pending(kReaderGroup) == 1);
}

TEST_CASE("the stream reader's range_after reads the entries after an id without touching the group", "[redis]") {
  TestStream stream;
  const auto ids = stream.add(5);
  auto reader = group_reader(stream, "c");
  const auto all = value_of(reader->range_after(StreamEntryId{}, 10));
  CHECK(ids_of(all) == ids);
  REQUIRE(all.size() == 5);
  CHECK(all[3].fields == std::vector<std::pair<std::string, std::string>>{{"type", "Added"}, {"data", R"({"n":3})"}});
  CHECK(ids_of(value_of(reader->range_after(ids[1], 2))) == Ids{ids[2], ids[3]});
  CHECK(value_of(reader->range_after(ids[4], 10)).empty());
  CHECK(stream.pending(kReaderGroup) == 0);
  CHECK(ids_of(value_of(reader->read_new(10, 0ms))) == ids);
}

TEST_CASE("the stream reader's info reports length, first and last, entries added and the highest deleted id",
          "[redis]") {
  TestStream stream;
  auto reader = connected(stream, "c");
  const auto missing = value_of(reader->info());
  CHECK(missing.length == 0);
  CHECK_FALSE(missing.first.has_value());
  CHECK_FALSE(missing.last.has_value());
  CHECK_FALSE(missing.max_deleted.has_value());
  CHECK(missing.entries_added == 0);

  const auto ids = stream.add(4);
  auto info = value_of(reader->info());
  CHECK(info.length == 4);
  CHECK(info.first == ids[0]);
  CHECK(info.last == ids[3]);
  CHECK(info.entries_added == 4);
  CHECK_FALSE(info.max_deleted.has_value());

  CHECK(stream.admin("XTRIM", stream.key, "MAXLEN", "2").integer == 2);
  info = value_of(reader->info());
  CHECK(info.length == 2);
  CHECK(info.first == ids[2]);
  CHECK(info.last == ids[3]);
  CHECK(info.entries_added == 4);
  // Redis 7.0 records only what XDEL removes as max-deleted-entry-id: trimming shows in `first` alone.
  CHECK_FALSE(info.max_deleted.has_value());

  CHECK(stream.admin("XDEL", stream.key, ids[2].text()).integer == 1);
  info = value_of(reader->info());
  CHECK(info.length == 1);
  CHECK(info.first == ids[3]);
  CHECK(info.max_deleted == ids[2]);
  CHECK(info.entries_added == 4);
}

TEST_CASE(
    "after the server closed the stream reader's connection a call fails naming the server and the command, and "
    "connect() recovers",
    "[redis]") {
  TestStream stream;
  auto reader = group_reader(stream, "c");
  SECTION("between calls") {
    CHECK(stream.admin("CLIENT", "KILL", "USER", stream.user).integer == 1);
    const auto info = reader->info();
    REQUIRE_FALSE(info.has_value());
    CHECK_THAT(info.error(), Catch::Contains("source orders") && Catch::Contains("XINFO") &&
                                 Catch::Contains(test_redis_url().endpoint()));
    CHECK_THAT(info.error(), !Catch::Contains(kStreamUserPassword));
  }
  SECTION("during a blocked read") {
    const auto ended = end_blocked_read(
        stream, *reader, [&] { CHECK(stream.admin("CLIENT", "KILL", "USER", stream.user).integer == 1); });
    REQUIRE_FALSE(ended.result.has_value());
    CHECK_THAT(ended.result.error(), Catch::Contains("XREADGROUP") && Catch::Contains("connection lost"));
  }
  succeeded(reader->connect(5s));
  stream.add(1);
  CHECK(value_of(reader->info()).length == 1);
}

TEST_CASE("an error reply fails the stream reader's call with the command and Redis's words", "[redis]") {
  TestStream stream;
  auto reader = connected(stream, "c");  // no group
  const auto read = reader->read_new(10, 0ms);
  REQUIRE_FALSE(read.has_value());
  CHECK_THAT(read.error(), Catch::Contains("XREADGROUP") && Catch::Contains("NOGROUP") &&
                               Catch::Contains(test_redis_url().endpoint()));
  const auto claimed = reader->claim_idle(0ms, 10);
  REQUIRE_FALSE(claimed.has_value());
  CHECK_THAT(claimed.error(), Catch::Contains("XAUTOCLAIM") && Catch::Contains("NOGROUP"));
  const auto oldest = reader->oldest_pending_elsewhere();
  REQUIRE_FALSE(oldest.has_value());
  CHECK_THAT(oldest.error(), Catch::Contains("XPENDING") && Catch::Contains("NOGROUP"));
  // The connection survives an error reply.
  CHECK(value_of(reader->info()).length == 0);
}

TEST_CASE("stream reader calls before connect fail, and a bad URL fails connect without the password", "[redis]") {
  TestStream stream;
  RedisStreamReader reader(stream.source(), kReaderGroup, "c");
  const auto info = reader.info();
  REQUIRE_FALSE(info.has_value());
  CHECK_THAT(info.error(), Catch::Contains("XINFO") && Catch::Contains("not connected"));

  auto source = stream.source();
  source.url = "redis://:" + kStreamUserPassword + "@127.0.0.1:notaport";
  RedisStreamReader misconfigured(source, kReaderGroup, "c");
  const auto connected = misconfigured.connect(1s);
  REQUIRE_FALSE(connected.has_value());
  CHECK_THAT(connected.error(), Catch::Contains("source orders") && Catch::Contains("port"));
  CHECK_THAT(connected.error(), !Catch::Contains(kStreamUserPassword));
}

TEST_CASE("the stream reader fails connect after the timeout on a server that accepts and never answers", "[redis]") {
  SilentServer silent;
  TestStream stream;
  auto source = stream.source();
  source.url = "redis://127.0.0.1:" + std::to_string(silent.port());
  RedisStreamReader reader(source, kReaderGroup, "c");
  const auto start = Steady::now();
  const auto connected = reader.connect(300ms);
  REQUIRE_FALSE(connected.has_value());
  CHECK(Steady::now() - start < 30s);  // a timeout read as seconds would wait 300 s
  CHECK_THAT(connected.error(),
             Catch::Contains("127.0.0.1:" + std::to_string(silent.port())) && Catch::Contains("300 ms"));
}

TEST_CASE("the stream reader's group_lag counts the entries the group has not been delivered", "[redis]") {
  TestStream stream;
  stream.add(5);
  auto reader = group_reader(stream, "c");
  CHECK(value_of(reader->group_lag()) == std::optional<std::int64_t>(5));
  CHECK(value_of(reader->read_new(2, 0ms)).size() == 2);
  CHECK(value_of(reader->group_lag()) == std::optional<std::int64_t>(3));
  auto other = std::make_unique<RedisStreamReader>(stream.source(), "projectord:other", "c");
  succeeded(other->connect(5s));
  CHECK_FALSE(value_of(other->group_lag()).has_value());  // no such group
}
