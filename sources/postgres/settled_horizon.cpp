#include "sources/postgres/settled_horizon.hpp"

#include <algorithm>

namespace projectord::sources {

namespace {
// Candidates are taken at most this often apart (as a fraction of the grace), so a busy store keeps a
// short queue while a hole still settles about one grace after it was first seen.
constexpr int kCandidatesPerGrace = 4;
constexpr std::size_t kMaxCandidates = 256;
}  // namespace

SettledHorizon::SettledHorizon(config::CommitOrder order, config::Duration grace, config::Duration max_wait,
                               const Clock& clock)
    : order_(order), grace_(grace), max_wait_(max_wait), clock_(clock) {}

void SettledHorizon::observe(const SnapshotInfo& snapshot, Clock::time_point observed) {
  last_xmin_ = snapshot.xmin;
  last_observed_ = observed;
  // Bounds only ever come from heads: a head below the bound is a table emptied or restored from an older
  // backup, whose new rows above the head are not settled yet.
  if (snapshot.head < bound_) {
    bound_ = snapshot.head;
    pending_.clear();
  }
  if (order_ == config::CommitOrder::serialized) {
    bound_ = std::max(bound_, snapshot.head);
    return;
  }
  for (Candidate& candidate : pending_) {
    if (observed - candidate.seen < grace_) break;
    if (!candidate.fence) candidate.fence = snapshot.xmax;
  }
  while (!pending_.empty()) {
    const Candidate& oldest = pending_.front();
    const bool writers_ended = oldest.fence && snapshot.xmin >= *oldest.fence;
    const bool waited_too_long = observed - oldest.seen >= max_wait_;
    if (!writers_ended && !waited_too_long) break;
    if (!writers_ended) ++forced_advances_;
    bound_ = std::max(bound_, oldest.head);
    pending_.pop_front();
  }
  if (snapshot.head <= bound_) return;
  if (!pending_.empty()) {
    const Candidate& newest = pending_.back();
    if (newest.head >= snapshot.head) return;
    if (observed - newest.seen < grace_ / kCandidatesPerGrace || pending_.size() >= kMaxCandidates) return;
  }
  pending_.push_back({.head = snapshot.head, .seen = observed, .fence = std::nullopt});
}

std::optional<SettledHorizon::Pending> SettledHorizon::oldest_pending() const {
  if (pending_.empty()) return std::nullopt;
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - pending_.front().seen);
  return Pending{pending_.front().head, waited, last_xmin_};
}

std::optional<Clock::time_point> SettledHorizon::next_deadline() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.front().seen + grace_;
}

}  // namespace projectord::sources
