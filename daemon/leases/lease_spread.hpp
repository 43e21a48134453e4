#pragma once
/// How the handlers spread over the live processes (checkpoints/leases.hpp): each holds at most its fair share,
/// the least count that, with each process holding no more than the handlers it runs, leaves room for all M
/// handlers: ⌈M/N⌉ for N processes that run them all, more for the others when some are pinned to fewer
/// (`[daemon] handlers`). A process above its share
/// hands over the leases that a live process below its share runs too, as many as those are short of their
/// shares, and never more than it is above its own: a process that joins gets its share within a renewal or
/// two, and the leases do not swing back and forth. One at its share makes way for a pinned process below its
/// share that no process above its share can serve, and is filled up again by one above. Which ones go is decided by name, so that the same live
/// processes always lead to the same hand-over.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "checkpoints/leases.hpp"

namespace projectord {

/// The fair share of the live processes; 0 when none runs a handler.
std::int64_t fair_share(const std::vector<checkpoints::LiveProcess>& live);

/// The leases the live process `me` should hand over now; `leaving`: those it is handing over already, which
/// count as gone.
std::vector<std::string> leases_to_hand_over(const std::string& me, const std::vector<checkpoints::LiveProcess>& live,
                                             const std::set<std::string>& leaving);

}  // namespace projectord
