#pragma once
/// Decides up to which position a PostgreSQL source is settled: no transaction can still commit a row
/// at or below it, so a position missing there is a permanent hole (a rolled-back insert, another
/// application's row) and may be passed.
///
/// Each read cycle reports the snapshot it read in: xmin, xmax and the table's highest visible position
/// (head). A writer owns its position from nextval on but has an xid only from its first write, a moment
/// later: a writer that took a position below a head H before the snapshot that saw H may take its xid after
/// that snapshot. So for `concurrent` stores H becomes settled once a grace has passed since it was seen (the
/// longest a writer is expected to take from nextval to its first write) and then every transaction with an
/// xid below the xmax of a snapshot taken after the grace (the fence) has ended. Waiting is capped
/// by max_hole_wait: past it the bound is forced forward and `forced_advances()` counts it. For `serialized`
/// stores a visible head proves everything below it settled at once. A head below the bound (the table went
/// backwards) lowers the bound to it. Pure logic: the clock is injected.
#include <cstdint>
#include <deque>
#include <optional>

#include "config/config.hpp"
#include "base/clock.hpp"
#include "base/event.hpp"

namespace projectord::sources {

struct SnapshotInfo {
  std::uint64_t xmin = 0;  ///< pg_snapshot_xmin: oldest transaction still running
  std::uint64_t xmax = 0;  ///< pg_snapshot_xmax: first xid not yet assigned
  Position head = 0;       ///< max(position) over the whole table (unfiltered) in that snapshot
};

class SettledHorizon {
 public:
  SettledHorizon(config::CommitOrder order, config::Duration grace, config::Duration max_wait, const Clock& clock);

  /// Feeds the snapshot of one read cycle, observed (its read ended) at `observed`, which is no earlier than the
  /// last: the lane's own read, or one it took from another lane (sources/postgres/shared_reads.hpp). May
  /// advance bound().
  void observe(const SnapshotInfo& snapshot, Clock::time_point observed);
  /// When the last snapshot was observed: a cycle observed before it is too old to feed.
  Clock::time_point last_observed() const { return last_observed_; }

  /// Every position <= bound() is settled.
  Position bound() const { return bound_; }

  /// The oldest head still waiting to settle, how long it has waited and which xid holds it back.
  struct Pending {
    Position head;
    std::chrono::milliseconds waited;
    std::uint64_t blocking_xmin;  ///< the xmin of the last snapshot: the oldest transaction still running
  };
  std::optional<Pending> oldest_pending() const;

  /// When the oldest pending head could settle if nothing else changes (for the caller's wait timeout).
  std::optional<Clock::time_point> next_deadline() const;

  std::uint64_t forced_advances() const { return forced_advances_; }

 private:
  struct Candidate {
    Position head;
    Clock::time_point seen;
    std::optional<std::uint64_t> fence;  ///< xmax of the first snapshot taken a grace after `seen`
  };

  config::CommitOrder order_;
  config::Duration grace_;
  config::Duration max_wait_;
  const Clock& clock_;
  Position bound_ = 0;
  std::uint64_t last_xmin_ = 0;
  Clock::time_point last_observed_{};
  std::deque<Candidate> pending_;
  std::uint64_t forced_advances_ = 0;
};

}  // namespace projectord::sources
