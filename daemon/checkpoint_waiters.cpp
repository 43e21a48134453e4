#include "daemon/checkpoint_waiters.hpp"

#include <algorithm>

namespace projectord {

void CheckpointWaiters::wait(std::string_view handler, Position position, Clock::time_point deadline,
                             Reached reached) {
  Position now_at = 0;
  {
    std::lock_guard lock(mutex_);
    Handler& entry = this->entry(handler);
    const auto now = clock_.now();
    std::erase_if(entry.waiters, [&](const Waiter& waiter) { return waiter.deadline < now; });
    if (!entry.position || *entry.position < position) {
      entry.waiters.push_back({position, deadline, std::move(reached)});
      return;
    }
    now_at = *entry.position;
  }
  reached(now_at);  // outside the lock: it may post, log, ...
}

CheckpointWaiters::Handler& CheckpointWaiters::entry(std::string_view handler) {
  auto found = handlers_.find(handler);
  if (found == handlers_.end()) found = handlers_.emplace(std::string(handler), Handler{}).first;
  return found->second;
}

std::vector<CheckpointWaiters::Reached> CheckpointWaiters::reach(Handler& entry, Position position,
                                                                 Clock::time_point now) {
  entry.position = position;
  std::vector<Reached> due;
  std::erase_if(entry.waiters, [&](Waiter& waiter) {
    if (waiter.deadline < now) return true;  // its caller has answered the timeout already
    if (waiter.position > position) return false;
    due.push_back(std::move(waiter.reached));
    return true;
  });
  return due;
}

void CheckpointWaiters::advanced(std::string_view handler, Position position) {
  std::vector<Reached> due;
  {
    std::lock_guard lock(mutex_);
    due = reach(entry(handler), position, clock_.now());
  }
  for (Reached& reached : due) reached(position);
}

void CheckpointWaiters::partition_advanced(std::string_view handler, std::int64_t index, std::int64_t count,
                                           Position position) {
  std::vector<Reached> due;
  Position least = position;
  {
    std::lock_guard lock(mutex_);
    Handler& whole = entry(handler);
    // A reload that changed the count starts the partitions over.
    if (whole.partitions.size() != static_cast<std::size_t>(count)) whole.partitions.assign(count, std::nullopt);
    whole.partitions[static_cast<std::size_t>(index)] = position;
    for (const std::optional<Position>& partition : whole.partitions) {
      if (!partition) return;
      least = std::min(least, *partition);
    }
    due = reach(whole, least, clock_.now());
  }
  for (Reached& reached : due) reached(least);
}

std::optional<Position> CheckpointWaiters::position(std::string_view handler) const {
  std::lock_guard lock(mutex_);
  const auto found = handlers_.find(handler);
  return found == handlers_.end() ? std::nullopt : found->second.position;
}

}  // namespace projectord
