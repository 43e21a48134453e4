#pragma once
/// The lanes of the running configuration, one per handler, and the retiring ones: lanes of a changed or
/// removed handler that finish their transaction in flight before they end. A handler's replacement may
/// start only once no retiring lane of it runs any more.
///
/// Not synchronised: the supervisor guards it with its mutex (the HTTP thread reads statuses through it).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/lane_run.hpp"

namespace projectord {

class LaneRoster {
 public:
  /// Becomes the handler's lane.
  void add(std::unique_ptr<LaneRun> run);
  /// Asks the handler's lane to stop and keeps it among the retiring ones until it ends (one that ended
  /// already is dropped). False when the handler has no lane.
  bool retire(const std::string& handler);
  /// The handler's lane (perhaps finished), or null.
  LaneRun* find(const std::string& handler) const;
  /// A retiring lane of the handler still runs: its replacement must wait.
  bool retiring(const std::string& handler) const;
  /// The lane `id` has returned: a live one is marked finished and returned; a retiring one is taken out,
  /// and the caller destroys it (which joins its thread) through `retired`.
  LaneRun* finished(std::uint64_t id, std::unique_ptr<LaneRun>& retired);
  void request_stop_all();
  /// Lanes whose thread still runs.
  std::size_t running() const;
  const std::map<std::string, std::unique_ptr<LaneRun>>& lanes() const { return lanes_; }

 private:
  std::map<std::string, std::unique_ptr<LaneRun>> lanes_;
  std::vector<std::unique_ptr<LaneRun>> retiring_;
};

}  // namespace projectord
