#pragma once
/// The rebuild lanes of one handler in the process that rebuilds it: one lane for a handler run whole, one per
/// partition for a partitioned one (checkpoints/rebuilds.hpp). They share one shadow and end in one swap, so a
/// fresh rebuild's begin runs once for all of them, and the swap runs once every one of them has reached live:
/// the last to arrive swaps for all, the others wait for it, each with its transactions committed.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>

#include "base/result.hpp"

namespace projectord {

class RebuildCohort {
 public:
  explicit RebuildCohort(std::int64_t members) : members_(members) {}

  /// Runs `begin` unless it ran to its end already; the members that call meanwhile wait for it. An exception
  /// leaves it to run again at the next call.
  void begin_once(const std::function<void()>& begin);

  /// Member `index` (0 .. members-1) has reached live: blocks until every member has, and the last to arrive has
  /// run `swap` for all; answers its outcome, or nothing when `stop` came first. An exception from `swap` (a
  /// retryable error: the member arrives again after reconnecting) leaves the others waiting.
  std::optional<Result<void>> arrive(std::int64_t index, std::stop_token stop, const std::function<Result<void>()>& swap);

  /// Whether member `index` waits for others to arrive (for /status).
  bool waiting(std::int64_t index) const;

 private:
  const std::int64_t members_;
  mutable std::mutex mutex_;
  std::condition_variable_any arrived_changed_;
  std::mutex begin_mutex_;  ///< held while begin runs
  bool begun_ = false;
  std::set<std::int64_t> arrived_;
  bool swapping_ = false;
  std::optional<Result<void>> outcome_;
};

}  // namespace projectord
