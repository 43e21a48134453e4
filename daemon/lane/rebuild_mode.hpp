#pragma once
/// What a rebuild lane (LaneOptions::rebuild, checkpoints/rebuilds.hpp) does beyond a live lane's work: it
/// writes the shadow copy of the read model (a fresh rebuild first clears what an earlier one left and records
/// itself), paces itself so that live lanes keep their share of the CPU and the database, and ends by swapping
/// the shadow in, or abandons it when that cannot be done. The lane of a partition does so as a member of its
/// handler's cohort (daemon/lane/rebuild_cohort.hpp): one begin, one shadow, one swap for all partitions.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/connection>
#include <stop_token>
#include <string>

#include "base/clock.hpp"
#include "base/event.hpp"
#include "base/postgres/session.hpp"
#include "base/result.hpp"
#include "checkpoints/tracking_table.hpp"
#include "daemon/lane/rebuild_cohort.hpp"

namespace projectord {

class RebuildMode {
 public:
  struct Settings {
    bool fresh = false;        ///< drop what an earlier rebuild left and record this one (else: resume)
    std::string requested_by;  ///< for projectord.rebuilds
    std::int64_t max_rate = 0;  ///< rows read per second at most; 0: as fast as it goes
    /// The live model's tracking table: the shadow's transactions leave it alone (it is the live model's
    /// place) and the swap sets it to the position swapped in.
    std::optional<checkpoints::TrackingTable> tracking{};
    /// The rebuild lanes of the handler (outlives this lane); this one is member `member` of `members`, the
    /// handler's partition index and count (0 of 1 for a handler run whole).
    RebuildCohort* cohort = nullptr;
    std::int64_t member = 0;
    std::int64_t members = 1;
  };
  /// `handler`: whose read model it rebuilds (a partitioned handler's name); `lane`: the lane's own name.
  RebuildMode(std::string handler, std::string lane, Settings settings)
      : handler_(std::move(handler)), lane_(std::move(lane)), settings_(std::move(settings)) {}

  /// At each session's start, on its target connection: the shadow goes first on its search_path (`session`).
  void enter(pqxx::connection& target, postgres::SessionSettings& session);
  /// The session reads from `now` on: its throttle counts rows from here.
  void start_reading(Clock::time_point now) {
    throttle_start_ = now;
    throttled_rows_ = 0;
  }

  /// The live lane has stopped and this one is at the head, its transactions committed: once every member of
  /// the cohort is, the shadow takes the live model's place. An error says why it could not; the rebuild is then
  /// abandoned (the live model stays as it was). Nothing: `stop` came while it waited for the others. `target`
  /// gives the lane's target connection: the member that swaps borrows it, the others wait holding none.
  std::optional<Result<void>> swap_in(const std::function<pqxx::connection&()>& target, Position position,
                                      std::stop_token stop);
  /// Whether it waits for the other members to reach live.
  bool waiting_for_cohort() const { return settings_.cohort->waiting(settings_.member); }

  /// Whether a rebuild at `position` holds every event the stopped live lane applied: it is at or past the
  /// live checkpoint, or at the source's `head` where that is below it (a source that went backwards, which a
  /// rebuild is one way out of).
  bool reached_live(pqxx::connection& target, Position position, Position head) const;

  /// The source refused the rebuild: its shadow is dropped, on the lane's `target` connection.
  void abandon(const std::function<pqxx::connection&()>& target);

  /// The most rows the next read may return, given whether the source was written since the last read.
  std::size_t read_limit(std::size_t batch_size, bool source_written);
  /// Whether the last read_limit found the source being written: then one read per transaction.
  bool under_writes() const { return under_writes_; }

  bool throttled() const { return settings_.max_rate > 0; }
  /// After a read of `rows`: when the next read is due for the session to stay at max_rate on average.
  Clock::time_point next_read_due(std::size_t rows);

 private:
  void yield_cpu_to_live_lanes();
  Result<void> swap_now(pqxx::connection& target, Position position);

  std::string handler_;
  std::string lane_;
  Settings settings_;
  bool under_writes_ = false;
  bool cpu_yielded_ = false;  ///< runs at a lower priority (see yield_cpu_to_live_lanes)
  Clock::time_point throttle_start_{};  ///< a throttled rebuild's rows are counted from here (its session's start)
  std::size_t throttled_rows_ = 0;
};

}  // namespace projectord
