#include "daemon/lane/rebuild_cohort.hpp"

namespace projectord {

void RebuildCohort::begin_once(const std::function<void()>& begin) {
  std::lock_guard lock(begin_mutex_);
  if (begun_) return;
  begin();
  begun_ = true;
}

std::optional<Result<void>> RebuildCohort::arrive(std::int64_t index, std::stop_token stop,
                                                  const std::function<Result<void>()>& swap) {
  std::unique_lock lock(mutex_);
  arrived_.insert(index);
  if (!outcome_ && !swapping_ && static_cast<std::int64_t>(arrived_.size()) == members_) {
    swapping_ = true;
    lock.unlock();
    std::optional<Result<void>> outcome;
    try {
      outcome = swap();
    } catch (...) {
      lock.lock();
      swapping_ = false;
      arrived_.erase(index);
      throw;
    }
    lock.lock();
    outcome_ = std::move(outcome);
    swapping_ = false;
    arrived_changed_.notify_all();
    return outcome_;
  }
  if (!arrived_changed_.wait(lock, stop, [this] { return outcome_.has_value(); })) {
    arrived_.erase(index);
    return std::nullopt;
  }
  return outcome_;
}

bool RebuildCohort::waiting(std::int64_t index) const {
  std::lock_guard lock(mutex_);
  return !outcome_ && !swapping_ && arrived_.contains(index) && static_cast<std::int64_t>(arrived_.size()) < members_;
}

}  // namespace projectord
