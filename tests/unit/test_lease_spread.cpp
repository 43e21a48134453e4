// How the handlers spread over live processes (daemon/leases/lease_spread.hpp): the fair share and which leases
// a process above it hands over.
#include <catch2/catch.hpp>

#include "daemon/leases/lease_spread.hpp"

using projectord::fair_share;
using projectord::leases_to_hand_over;
using projectord::checkpoints::LiveProcess;

namespace {

const std::vector<std::string> kTwelve{"h01", "h02", "h03", "h04", "h05", "h06",
                                       "h07", "h08", "h09", "h10", "h11", "h12"};

LiveProcess process(const std::string& owner, std::vector<std::string> handlers, std::vector<std::string> held) {
  return {owner, "host", 1, std::move(handlers), std::move(held)};
}

std::vector<std::string> first(std::size_t count) { return {kTwelve.begin(), kTwelve.begin() + count}; }

}  // namespace

TEST_CASE("the fair share is the handlers over the live processes, rounded up, when each runs them all") {
  CHECK(fair_share({}) == 0);
  CHECK(fair_share({process("a", kTwelve, {})}) == 12);
  CHECK(fair_share({process("a", kTwelve, {}), process("b", kTwelve, {})}) == 6);
  CHECK(fair_share({process("a", kTwelve, {}), process("b", kTwelve, {}), process("c", kTwelve, {})}) == 4);
  CHECK(fair_share({process("a", kTwelve, {}), process("idle", {}, {})}) == 12);
}

TEST_CASE("the fair share grows for the others when a process is pinned to fewer handlers than it") {
  CHECK(fair_share({process("a", kTwelve, {}), process("b", kTwelve, {}), process("p", first(2), {})}) == 5);
  CHECK(fair_share({process("a", kTwelve, {}), process("b", kTwelve, {}), process("c", {"h13"}, {})}) == 6);
}

TEST_CASE("a process holding everything hands over what a joining process is short of, no more") {
  const std::vector<LiveProcess> live{process("a", kTwelve, kTwelve), process("b", kTwelve, {}),
                                      process("c", kTwelve, {})};
  const auto handed = leases_to_hand_over("a", live, {});
  CHECK(handed.size() == 8);  // down to its share of 4; b and c are short of 4 each
}

TEST_CASE("a process at its share or below hands nothing over") {
  const std::vector<LiveProcess> live{process("a", kTwelve, first(6)), process("b", kTwelve, {})};
  CHECK(leases_to_hand_over("a", live, {}).empty());
  CHECK(leases_to_hand_over("b", live, {}).empty());
}

TEST_CASE("leases already being handed over count as gone") {
  const std::vector<LiveProcess> live{process("a", kTwelve, first(8)), process("b", kTwelve, first(0))};
  CHECK(leases_to_hand_over("a", live, {"h07", "h08"}).empty());
  CHECK(leases_to_hand_over("a", live, {"h08"}).size() == 1);
}

TEST_CASE("a process above its share keeps what no one below their share runs") {
  // b is pinned to h13 and holds it: below the share of 7, but it wants nothing a holds.
  const std::vector<LiveProcess> live{process("a", kTwelve, kTwelve), process("b", {"h13"}, {"h13"})};
  CHECK(leases_to_hand_over("a", live, {}).empty());
}

TEST_CASE("the same live processes always lead to the same hand-over") {
  const std::vector<LiveProcess> live{process("a", kTwelve, kTwelve), process("b", kTwelve, {})};
  const auto handed = leases_to_hand_over("a", live, {});
  CHECK(handed == leases_to_hand_over("a", live, {}));
  CHECK(handed == std::vector<std::string>{"h12", "h11", "h10", "h09", "h08", "h07"});
}

TEST_CASE("a process at its share makes way for a pinned process that those above their share cannot serve") {
  // Share 5: a holds the pinned p's h02 and is at its share; b, above it, holds nothing p runs.
  const std::vector<LiveProcess> live{process("a", kTwelve, {"h02", "h03", "h04", "h05", "h06"}),
                                      process("b", kTwelve, {"h07", "h08", "h09", "h10", "h11", "h12"}),
                                      process("p", first(2), {"h01"})};
  CHECK(leases_to_hand_over("a", live, {}) == std::vector<std::string>{"h02"});
  // b fills a's place, not p's: p runs none of b's.
  const std::vector<LiveProcess> after{process("a", kTwelve, {"h03", "h04", "h05", "h06"}),
                                       process("b", kTwelve, {"h07", "h08", "h09", "h10", "h11", "h12"}),
                                       process("p", first(2), {"h01", "h02"})};
  CHECK(leases_to_hand_over("b", after, {}).size() == 1);
  CHECK(leases_to_hand_over("a", after, {}).empty());
}

TEST_CASE("a process at its share keeps its leases when one above its share can serve the process below") {
  const std::vector<LiveProcess> live{process("a", kTwelve, first(5)), process("b", kTwelve, {"h06", "h07", "h08", "h09"}),
                                      process("c", kTwelve, {"h10", "h11", "h12"})};
  CHECK(leases_to_hand_over("b", live, {}).empty());
  CHECK(leases_to_hand_over("a", live, {}) == std::vector<std::string>{"h05"});
}
