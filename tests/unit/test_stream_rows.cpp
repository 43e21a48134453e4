#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "sources/redis/stream_rows.hpp"

namespace json = boost::json;
using projectord::Position;
using projectord::SourceRow;
using projectord::Undecodable;
using projectord::sources::StreamEntry;
using projectord::sources::StreamEntryId;

namespace {

projectord::config::RedisSource orders_stream() {
  projectord::config::RedisSource source;
  source.name = "orders";
  source.stream = "orders-stream";
  return source;
}

StreamEntry added(StreamEntryId id, int n) {
  return {id, {{"type", "Added"}, {"stream_id", "s-" + std::to_string(n)}, {"data", R"({"n":)" + std::to_string(n) + "}"}}};
}

const Undecodable& poison(const SourceRow& row) {
  REQUIRE(std::holds_alternative<Undecodable>(row.content));
  return std::get<Undecodable>(row.content);
}

}  // namespace

TEST_CASE("stream entries whose ids have no position become poison rows of distinct positions that name them") {
  const StreamEntryId first{1000, 1};
  const StreamEntryId next_ms{1001, 0};
  std::vector<StreamEntry> entries{added(first, 1),
                                   added({1000, 3000000}, 2),
                                   added({1000, 3000001}, 3),
                                   added(next_ms, 4),
                                   added({9999999999999999, 0}, 5),
                                   added({9999999999999999, 1}, 6)};
  const auto rows = projectord::stream_rows(orders_stream(), entries, 7);
  REQUIRE(rows.size() == entries.size());

  std::set<Position> positions;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    INFO("row " << i);
    CHECK(rows[i - 1].position < rows[i].position);
    positions.insert(rows[i].position);
  }
  CHECK(positions.size() == rows.size() - 1);
  CHECK(rows[0].position == *first.position());
  CHECK(rows[3].position == *next_ms.position());
  CHECK(std::holds_alternative<projectord::Event>(rows[3].content));

  for (const std::size_t i : {1, 2, 4, 5}) {
    INFO("row " << i);
    const Undecodable& row = poison(rows[i]);
    CHECK_THAT(row.error, Catch::Contains(entries[i].id.text()));
    const json::object payload = json::parse(row.payload).as_object();
    CHECK(payload.at("entry_id").as_string() == entries[i].id.text());
    CHECK(payload.at("fields").as_object().at("stream_id").as_string() == "s-" + std::to_string(i + 1));
    CHECK(row.stream_id == "s-" + std::to_string(i + 1));
  }
}

TEST_CASE("a malformed stream entry with a position is shown in its dead letter by its fields alone") {
  std::vector<StreamEntry> entries{{{1000, 1}, {{"type", "Added"}, {"data", "{not json"}}}};
  const auto rows = projectord::stream_rows(orders_stream(), entries, 0);
  REQUIRE(rows.size() == 1);
  CHECK(json::parse(poison(rows[0]).payload) == json::parse(R"({"type":"Added","data":"{not json"})"));
}
