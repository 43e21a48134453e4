#include "daemon/lane_roster.hpp"

#include <algorithm>

namespace projectord {

void LaneRoster::add(std::unique_ptr<LaneRun> run) {
  const std::string name = run->handler.name;
  lanes_[name] = std::move(run);
}

bool LaneRoster::retire(const std::string& handler) {
  const auto found = lanes_.find(handler);
  if (found == lanes_.end()) return false;
  found->second->thread.request_stop();
  // A lane that already ended (a one-shot run) has nothing to wait for.
  if (!found->second->finished) retiring_.push_back(std::move(found->second));
  lanes_.erase(found);
  return true;
}

LaneRun* LaneRoster::find(const std::string& handler) const {
  const auto found = lanes_.find(handler);
  return found == lanes_.end() ? nullptr : found->second.get();
}

bool LaneRoster::retiring(const std::string& handler) const {
  return std::any_of(retiring_.begin(), retiring_.end(),
                     [&](const auto& run) { return run->handler.name == handler && !run->finished; });
}

LaneRun* LaneRoster::finished(std::uint64_t id, std::unique_ptr<LaneRun>& retired) {
  for (auto& [name, run] : lanes_) {
    if (run->id != id) continue;
    run->finished = true;
    return run.get();
  }
  const auto found = std::find_if(retiring_.begin(), retiring_.end(), [id](const auto& run) { return run->id == id; });
  if (found != retiring_.end()) {
    retired = std::move(*found);
    retiring_.erase(found);
  }
  return nullptr;
}

void LaneRoster::request_stop_all() {
  for (auto& [name, run] : lanes_) run->thread.request_stop();
  for (auto& run : retiring_) run->thread.request_stop();
}

std::size_t LaneRoster::running() const {
  std::size_t count = retiring_.size();
  for (const auto& [name, run] : lanes_) count += run->finished ? 0 : 1;
  return count;
}

}  // namespace projectord
