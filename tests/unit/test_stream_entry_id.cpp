#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sources/redis/stream_entry_id.hpp"

using projectord::Position;
using projectord::sources::StreamEntryId;

namespace {

constexpr std::uint64_t kMaxMs = (std::uint64_t{1} << 42) - 1;
constexpr std::uint64_t kMaxSeq = (std::uint64_t{1} << 21) - 1;

Position position_of(StreamEntryId id) {
  const auto position = id.position();
  INFO(id.text());
  REQUIRE(position.has_value());
  return *position;
}

}  // namespace

TEST_CASE("a stream entry id's MS-SEQ text is read and written back unchanged") {
  for (const std::string text : {"0-0", "0-1", "1700000000000-3", "1700000000000-0", "4398046511103-2097151",
                                 "18446744073709551615-18446744073709551615"}) {
    const auto id = StreamEntryId::parse(text);
    INFO(text);
    REQUIRE(id.has_value());
    CHECK(id->text() == text);
  }
  const auto id = StreamEntryId::parse("1700000000000-3");
  REQUIRE(id.has_value());
  CHECK(id->ms == 1700000000000u);
  CHECK(id->seq == 3u);
}

TEST_CASE("a bare millisecond time is a stream entry id of sequence 0") {
  const auto id = StreamEntryId::parse("1700000000000");
  REQUIRE(id.has_value());
  CHECK(*id == StreamEntryId{1700000000000, 0});
  CHECK(id->text() == "1700000000000-0");
}

TEST_CASE("text that is not MS-SEQ in unsigned 64-bit numbers is refused as a stream entry id") {
  for (const std::string text : {"", "-", "-1", "1-", "a-1", "1-a", "1-2-3", " 1-2", "1-2 ", "+1-2", "1-+2", "1--2",
                                 "0x10-1", "18446744073709551616-0", "1-18446744073709551616", "*", "$", ">"}) {
    INFO("'" << text << "'");
    CHECK_FALSE(StreamEntryId::parse(text).has_value());
  }
}

TEST_CASE("a position maps back to its stream entry id, up to the largest id a position can hold") {
  for (const StreamEntryId id :
       {StreamEntryId{0, 0}, StreamEntryId{0, 1}, StreamEntryId{1, 0}, StreamEntryId{1700000000000, 3},
        StreamEntryId{1700000000000, kMaxSeq}, StreamEntryId{kMaxMs, 0}, StreamEntryId{kMaxMs, kMaxSeq}}) {
    INFO(id.text());
    CHECK(StreamEntryId::from_position(position_of(id)) == id);
  }
  CHECK(position_of({0, 0}) == 0);
  CHECK(position_of({1, 0}) == (Position{1} << 21));
  CHECK(position_of({kMaxMs, kMaxSeq}) == std::numeric_limits<Position>::max());
}

TEST_CASE("positions keep the order of the stream entry ids") {
  std::vector<StreamEntryId> ids{{0, 0},
                                 {0, 1},
                                 {0, kMaxSeq},
                                 {1, 0},
                                 {1, 1},
                                 {1700000000000, 0},
                                 {1700000000000, 7},
                                 {1700000000000, kMaxSeq},
                                 {1700000000001, 0},
                                 {kMaxMs, 0},
                                 {kMaxMs, kMaxSeq}};
  REQUIRE(std::is_sorted(ids.begin(), ids.end()));
  for (std::size_t i = 1; i < ids.size(); ++i) {
    INFO(ids[i - 1].text() << " < " << ids[i].text());
    CHECK(position_of(ids[i - 1]) < position_of(ids[i]));
  }
}

TEST_CASE("a stream entry id beyond 42 bits of milliseconds or 21 bits of sequence has no position") {
  CHECK_FALSE(StreamEntryId{kMaxMs + 1, 0}.position().has_value());
  CHECK_FALSE(StreamEntryId{0, kMaxSeq + 1}.position().has_value());
  CHECK_FALSE(StreamEntryId{1700000000000, kMaxSeq + 1}.position().has_value());
  CHECK_FALSE(StreamEntryId::parse("18446744073709551615-18446744073709551615")->position().has_value());
  CHECK(StreamEntryId{kMaxMs, kMaxSeq}.position().has_value());
}

TEST_CASE("an id with no position stands in one after the entry before it, below every position after it") {
  const StreamEntryId seq_beyond{1700000000000, kMaxSeq + 1};
  const Position before = position_of({1700000000000, 5});
  CHECK(seq_beyond.stand_in_after(before) == before + 1);
  // The next millisecond's first entry can still come after it, so its position is never taken.
  const Position last_of_its_ms = position_of({1700000000000, kMaxSeq});
  CHECK(seq_beyond.stand_in_after(last_of_its_ms - 1) == last_of_its_ms);
  CHECK(seq_beyond.stand_in_after(last_of_its_ms) == last_of_its_ms);

  const StreamEntryId ms_beyond{kMaxMs + 1, 0};
  CHECK(ms_beyond.stand_in_after(before) == before + 1);
  CHECK(ms_beyond.stand_in_after(last_of_its_ms) == last_of_its_ms + 1);
  CHECK(ms_beyond.stand_in_after(std::numeric_limits<Position>::max()) == std::numeric_limits<Position>::max());
}

TEST_CASE("a stream whose last id has no position reaches as high as a stand-in for it can") {
  const StreamEntryId mapped{1700000000000, 5};
  CHECK(mapped.head_position() == position_of(mapped));
  CHECK(StreamEntryId{1700000000000, kMaxSeq + 1}.head_position() == position_of({1700000000000, kMaxSeq}));
  CHECK(StreamEntryId{kMaxMs + 1, 0}.head_position() == std::numeric_limits<Position>::max());
}
