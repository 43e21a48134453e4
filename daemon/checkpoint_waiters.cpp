#include "daemon/checkpoint_waiters.hpp"

namespace projectord {

void CheckpointWaiters::wait(std::string_view handler, Position position, Clock::time_point deadline,
                             Reached reached) {
  Position now_at = 0;
  {
    std::lock_guard lock(mutex_);
    auto found = handlers_.find(handler);
    if (found == handlers_.end()) found = handlers_.emplace(std::string(handler), Handler{}).first;
    Handler& entry = found->second;
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

void CheckpointWaiters::advanced(std::string_view handler, Position position) {
  std::vector<Reached> due;
  {
    std::lock_guard lock(mutex_);
    auto found = handlers_.find(handler);
    if (found == handlers_.end()) found = handlers_.emplace(std::string(handler), Handler{}).first;
    Handler& entry = found->second;
    entry.position = position;
    if (entry.waiters.empty()) return;
    const auto now = clock_.now();
    std::erase_if(entry.waiters, [&](Waiter& waiter) {
      if (waiter.deadline < now) return true;  // its caller has answered the timeout already
      if (waiter.position > position) return false;
      due.push_back(std::move(waiter.reached));
      return true;
    });
  }
  for (Reached& reached : due) reached(position);
}

std::optional<Position> CheckpointWaiters::position(std::string_view handler) const {
  std::lock_guard lock(mutex_);
  const auto found = handlers_.find(handler);
  return found == handlers_.end() ? std::nullopt : found->second.position;
}

}  // namespace projectord
