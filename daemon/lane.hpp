#pragma once
/// A lane runs one projection handler over its source (sources/source.hpp): read a settled batch after the
/// checkpoint, apply it and move the checkpoint in the same transaction, repeat; wait for a wake-up when there
/// is nothing to do. Lanes are independent: each has its own checkpoint and thread, and borrows its connections
/// from the daemon's bounded pool only while it has work, so a halted or slow handler never holds back another.
///
/// Failures: a lost connection (or any error the server calls transient) is retried forever with capped
/// backoff, reconnecting and reloading the checkpoint; nothing is skipped. A failing batch is retried event
/// by event; an event that still fails after max_attempts (or cannot be decoded) is the poison event:
/// on_error = "stop" halts this lane only, "dead_letter" records it and moves on.
///
/// Operators steer a lane from other threads (the admin API): pause it after the transaction in flight,
/// resume it, skip the event a halted lane stopped on (recorded as a dead letter), or reset its checkpoint.
/// A source that went backwards under the checkpoint holds the lane in source_rewound
/// (daemon/lane/rewind_guard.hpp).
///
/// The lane's own file holds the session loop and the batch path, and sequences the steps; its other jobs are
/// units of their own under daemon/lane/: the catch-up transaction and its write in the background (on the
/// writer thread), the reader indexes, the late rows, the failure judgement, the poison policy, the
/// single-runner lease, the rebuild mode, the operators' dead-letter requests, the rewind check and the
/// published status.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "config/config.hpp"
#include "base/clock.hpp"
#include "base/result.hpp"
#include "sources/source.hpp"
#include "handlers/projection_handler.hpp"
#include "daemon/lane/dead_letter_requests.hpp"
#include "daemon/lane/handler_lease.hpp"
#include "daemon/lane/rebuild_cohort.hpp"
#include "daemon/lane_status.hpp"

namespace projectord {

struct LaneOptions {
  bool exit_when_caught_up = false;        ///< return from run() once a read finds nothing after the checkpoint
  std::string synchronous_commit = "off";  ///< of the write connection ([database] synchronous_commit)
  postgres::Pooling pooling = postgres::Pooling::session;  ///< how the write connection reaches the server
  /// The daemon's connections (daemon/lane/lane_connections.hpp), which outlive the lane; null: its own.
  postgres::ConnectionPool* pool = nullptr;
  Clock::duration progress_window = std::chrono::seconds(30);  ///< over which a growing lag makes a lane slow
  /// Called on the lane's thread after every checkpoint commit (and with the loaded one): must not block.
  std::function<void(Position)> on_checkpoint{};

  /// Rebuild mode (checkpoints/rebuilds.hpp): the lane builds the shadow copy of the handler's read model under
  /// the checkpoint NAME:rebuild (a partition's NAME/p:rebuild) and ends by swapping it in with its cohort.
  struct Rebuild {
    bool fresh = false;        ///< drop what an earlier rebuild left and record this one (else: resume)
    std::string requested_by;  ///< "http", "SIGUSR1", ... for projectord.rebuilds
    std::int64_t max_rate = 0;  ///< events read per second at most; 0: as fast as it goes
    /// Asked between transactions whenever the lane is at the head; true once the live lane has stopped, so
    /// that the swap may run. Must not block.
    std::function<bool()> may_swap;
    /// The rebuild lanes of the handler, one per partition (daemon/lane/rebuild_cohort.hpp); outlives the lane.
    RebuildCohort* cohort = nullptr;
  };
  std::optional<Rebuild> rebuild{};
};

class Lane {
 public:
  /// `leases` renews the handler's lease (daemon/lane/handler_lease.hpp) and outlives the lane.
  Lane(config::Handler handler, std::unique_ptr<Source> source, std::string target_url,
       std::unique_ptr<handlers::ProjectionHandler> projection, const Clock& clock, LeaseKeeper& leases,
       LaneOptions options);
  ~Lane();

  /// The lane's thread body; returns when stop is requested, the handler halts, or (with
  /// exit_when_caught_up) the lane has caught up.
  void run(std::stop_token stop);

  LaneStatus status() const;
  const std::string& name() const;

  /// Stops the lane after the transaction in flight; an error if it is halted (skip or resume it instead).
  Result<void> pause();
  /// A paused lane goes on; a halted one reconnects and tries its poison event again (after a fix).
  Result<void> resume();
  /// A halted lane records the event it stopped on as a dead letter and goes on; returns its position.
  Result<Position> skip();

  /// Queues an operator's call on the handler's dead letters (all, or the one with row id `id`), served
  /// between transactions: retry re-reads each event from the source and applies it (out of order), removing
  /// the letter when that succeeds and recording the new error when not; drop removes the letters.
  using DeadLetterAction = projectord::DeadLetterAction;
  void dead_letters(DeadLetterAction action, std::optional<std::int64_t> id);

  /// Moves the checkpoint to `to` (at most the source's head), between transactions, with no holes and no
  /// row noted: the way out of source_rewound short of a rebuild. `origin` says who asked, for the log.
  Result<void> reset_checkpoint(Position to, std::string origin);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace projectord
