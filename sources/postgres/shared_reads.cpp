#include "sources/postgres/shared_reads.hpp"

#include <algorithm>

namespace projectord::sources {

namespace {

// Cycles kept once read (cycles being read are kept besides): lanes close together find theirs among them.
constexpr std::size_t kKeptCycles = 4;

// How long a cycle that reached the head stays good for another lane: a source without LISTEN learns of no
// news, so past this the lane reads the head itself.
constexpr auto kHeadShelfLife = std::chrono::milliseconds(50);

}  // namespace

bool SharedReads::Slot::same_bounds(const Ask& ask) const {
  return after == ask.after && limit == ask.limit && settled == ask.settled;
}

// Strictly after the lane's last observation: a lane that took a cycle (or read it) never takes it again, so a
// blocked lane that reads again sees a newer snapshot, which is what settles its hole.
bool SharedReads::fits(const SharedCycle& cycle, const Ask& ask) const {
  if (cycle.observed <= ask.not_before) return false;
  if (!cycle.reached_head) return true;
  return cycle.wake_generation == ask.wake_generation && clock_.now() - cycle.observed <= kHeadShelfLife;
}

SharedReads::Served SharedReads::serve(const Ask& ask, const Read& read, std::stop_token stop) {
  std::unique_lock lock(mutex_);
  const auto newest = [&](auto&& matches) {
    const auto found = std::find_if(slots_.rbegin(), slots_.rend(), matches);
    return found == slots_.rend() ? nullptr : &*found;
  };
  // A read in progress that started after the lane's last cycle gives a cycle observed after it too.
  if (const Slot* slot = newest([&](const Slot& s) {
        return s.same_bounds(ask) && (s.cycle ? fits(*s.cycle, ask) : s.started >= ask.not_before);
      })) {
    const std::uint64_t id = slot->id;
    const auto by_id = [&] { return newest([&](const Slot& s) { return s.id == id; }); };
    read_ended_.wait(lock, stop, [&] {
      const Slot* waited = by_id();
      return waited == nullptr || waited->cycle != nullptr;
    });
    if (const Slot* ended = by_id(); ended != nullptr && ended->cycle != nullptr && fits(*ended->cycle, ask)) {
      return {ended->cycle, true};
    }
  }

  const std::uint64_t id = next_id_++;
  std::erase_if(slots_, [&](const Slot& s) { return s.cycle != nullptr && s.same_bounds(ask); });
  slots_.push_back({.id = id, .after = ask.after, .limit = ask.limit, .settled = ask.settled,
                    .started = clock_.now(), .cycle = nullptr});
  lock.unlock();
  std::shared_ptr<const SharedCycle> cycle;
  try {
    cycle = read();
  } catch (...) {
    lock.lock();
    std::erase_if(slots_, [&](const Slot& s) { return s.id == id; });
    read_ended_.notify_all();
    throw;
  }
  lock.lock();
  for (Slot& slot : slots_) {
    if (slot.id == id) slot.cycle = cycle;
  }
  std::size_t kept = std::ranges::count_if(slots_, [](const Slot& s) { return s.cycle != nullptr; });
  for (auto slot = slots_.begin(); slot != slots_.end() && kept > kKeptCycles;) {
    if (slot->cycle == nullptr) {
      ++slot;
      continue;
    }
    slot = slots_.erase(slot);
    --kept;
  }
  read_ended_.notify_all();
  return {std::move(cycle), false};
}

}  // namespace projectord::sources
