#include "daemon/leases/lease_spread.hpp"

#include <algorithm>

namespace projectord {

namespace {

bool runs(const checkpoints::LiveProcess& process, const std::string& name) {
  return std::find(process.handlers.begin(), process.handlers.end(), name) != process.handlers.end();
}

}  // namespace

std::int64_t fair_share(const std::vector<checkpoints::LiveProcess>& live) {
  std::set<std::string> handlers;
  for (const auto& process : live) handlers.insert(process.handlers.begin(), process.handlers.end());
  const auto total = static_cast<std::int64_t>(handlers.size());
  for (std::int64_t share = 1; share < total; ++share) {
    std::int64_t room = 0;
    for (const auto& process : live) room += std::min(share, static_cast<std::int64_t>(process.handlers.size()));
    if (room >= total) return share;
  }
  return total;
}

std::vector<std::string> leases_to_hand_over(const std::string& me, const std::vector<checkpoints::LiveProcess>& live,
                                             const std::set<std::string>& leaving) {
  const auto mine = std::find_if(live.begin(), live.end(), [&](const auto& process) { return process.owner == me; });
  if (mine == live.end()) return {};
  const std::int64_t share = fair_share(live);
  std::vector<std::string> kept;
  for (const std::string& name : mine->held) {
    if (!leaving.contains(name)) kept.push_back(name);
  }
  std::int64_t above = static_cast<std::int64_t>(kept.size()) - share;
  if (above < 0) return {};
  const auto held_by = [](const checkpoints::LiveProcess& process) {
    return static_cast<std::int64_t>(process.held.size());
  };

  // What each process below its share is short of; each lease kept here goes to at most one of them.
  std::vector<std::pair<const checkpoints::LiveProcess*, std::int64_t>> short_of;
  for (const auto& process : live) {
    const std::int64_t gap = share - held_by(process);
    if (process.owner != me && !process.handlers.empty() && gap > 0) short_of.emplace_back(&process, gap);
  }
  std::sort(kept.begin(), kept.end(), std::greater<>());

  if (above == 0) {
    // At its share, a process still makes way, one lease at a time, for a process below its share that runs
    // none of what the processes above their share hold (one pinned to a few handlers): one above then fills
    // the place it leaves.
    std::vector<const checkpoints::LiveProcess*> over;
    for (const auto& process : live) {
      if (process.owner != me && held_by(process) > share) over.push_back(&process);
    }
    if (over.empty()) return {};
    for (const auto& [process, gap] : short_of) {
      const bool served_by_over = std::any_of(over.begin(), over.end(), [&, process = process](const auto* other) {
        return std::any_of(other->held.begin(), other->held.end(), [&](const auto& name) { return runs(*process, name); });
      });
      if (served_by_over) continue;
      for (const std::string& name : kept) {
        if (runs(*process, name)) return {name};
      }
    }
    return {};
  }

  std::vector<std::string> handed;
  for (const std::string& name : kept) {
    if (above == 0) break;
    for (auto& [process, gap] : short_of) {
      if (gap == 0 || !runs(*process, name)) continue;
      handed.push_back(name);
      --gap;
      --above;
      break;
    }
  }
  return handed;
}

}  // namespace projectord
