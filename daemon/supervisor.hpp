#pragma once
/// Runs the lanes of one configuration — a thread per handler, a NOTIFY listener per source — and changes
/// them when the configuration is reloaded: handlers that were removed stop, new ones start, changed ones
/// (their own settings or their source's) restart once their old lane has finished its transaction in
/// flight; untouched handlers go on undisturbed. It is also what the HTTP endpoints see of the daemon.
///
/// Lanes and listeners are started, replaced and joined on the io_context's thread; the HTTP thread reads
/// statuses and sends operator actions under a mutex.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "base/postgres/connection_pool.hpp"
#include "base/result.hpp"
#include "base/wake_signal.hpp"
#include "sources/postgres/shared_reads.hpp"
#include "config/config.hpp"
#include "daemon/checkpoint_waiters.hpp"
#include "daemon/http/handler_status.hpp"
#include "daemon/lane_roster.hpp"
#include "daemon/leases/lease_keeper.hpp"
#include "daemon/rebuild_run.hpp"
#include "sources/postgres/notify_listener.hpp"

namespace projectord {

class Supervisor final : public http::DaemonView {
 public:
  /// `on_idle` runs on the io thread when no lane runs any more after stop() or, with exit_when_caught_up,
  /// when every lane has caught up (or halted).
  Supervisor(boost::asio::io_context& io, const Clock& clock, CheckpointWaiters& waiters, bool exit_when_caught_up,
             std::function<void()> on_idle);
  ~Supervisor() override;  // stops and joins whatever still runs

  /// The first call starts everything. Later calls (SIGHUP) reconcile: an error (a handler that cannot be
  /// built) leaves the running configuration untouched. Settings that need a restart are kept and logged.
  /// Only the handlers `[daemon] handlers` names run, when it names any.
  Result<void> apply(const config::Config& file);

  /// Shutdown: every lane finishes or rolls back its transaction in flight; listeners stop.
  void stop();

  /// Starts a blue/green rebuild of `handler` (fresh) unless one runs: one rebuild lane, or one per partition
  /// of a partitioned handler (a partition alone is refused). `resume`: continue one that a previous run left
  /// in projectord.rebuilds, kept in `resumed_partitions` (another count starts over). Called on the io thread.
  /// `max_rate`: events/s at most, 0 unlimited; empty: the handler's rebuild_max_rate.
  void start_rebuild(const std::string& handler, const std::string& requested_by, bool resume,
                     std::optional<std::int64_t> max_rate = std::nullopt, std::int64_t resumed_partitions = 1);

  std::size_t running() const;
  bool any_halted() const;
  /// The config in force; io thread only.
  const config::Config& config() const { return config_; }

  std::vector<http::HandlerStatus> handlers() const override;
  http::EndpointSettings settings() const override;
  http::AdminOutcome admin(const http::AdminRequest& request) override;

 private:
  struct Listener;
  struct Pending;

  /// Stops the handler's lane (and its rebuild, built with the old settings); `why`: changed or removed.
  /// Called with mutex_ held.
  void retire(const std::string& handler, std::string_view why);
  void stop_rebuild_for_reload(const std::string& handler);
  void start(Pending pending);
  void finished(std::uint64_t id);
  void rebuild_ended(std::unique_ptr<RebuildRun> rebuild);
  void stop_live_for_swap(const std::string& handler);
  std::unique_ptr<LaneRun> launch(const config::Handler& handler,
                                  std::unique_ptr<handlers::ProjectionHandler> projection, LaneOptions options);
  /// What a lane of `handler` reads: its source's live source, or the one a rebuild replays history from.
  std::unique_ptr<Source> make_source(const config::Handler& handler, bool rebuild);
  std::shared_ptr<sources::SharedReads> shared_reads(const config::PostgresSource& source);
  void reconcile_listeners();
  void check_idle();
  /// admin() for one lane, and for every lane of a partitioned handler; with mutex_ held.
  http::AdminOutcome admin_lane(const http::AdminRequest& request);
  http::AdminOutcome admin_partitions(const http::AdminRequest& request, const std::vector<std::string>& lanes);
  http::AdminOutcome rebuild_partitions(const http::AdminRequest& request, const std::vector<std::string>& lanes);
  /// Whether any of `lanes` has a rebuild lane running; io thread, or with mutex_ held.
  bool any_rebuilding(const std::vector<std::string>& lanes) const;

  boost::asio::io_context& io_;
  const Clock& clock_;
  CheckpointWaiters& waiters_;
  bool exit_when_caught_up_;
  std::function<void()> on_idle_;
  bool stopping_ = false;
  bool started_ = false;
  std::uint64_t next_id_ = 1;
  /// Written on the io thread under mutex_, which the HTTP thread's reads of it take; the io thread reads it
  /// without.
  config::Config config_;

  /// Renews the leases of every lane; made with the first configuration, and declared before the lanes so
  /// that it outlives them all.
  std::unique_ptr<LeaseKeeper> leases_;
  /// The connections the lanes borrow (base/postgres/connection_pool.hpp); declared before the lanes' owners,
  /// it outlives them.
  std::unique_ptr<postgres::ConnectionPool> pool_;
  std::map<std::string, WakeSignal> wakes_;  ///< per source name; never erased (lanes hold references)
  /// Per source name, with the settings its reads were shared for: a reload that changes them starts anew.
  std::map<std::string, std::pair<config::PostgresSource, std::shared_ptr<sources::SharedReads>>> shared_reads_;
  std::map<std::string, std::unique_ptr<Listener>> listeners_;
  std::map<std::string, std::unique_ptr<Pending>> pending_;  ///< replacements waiting for the old lane to end

  mutable std::mutex mutex_;  // guards the members below against the HTTP thread
  LaneRoster lanes_;
  std::map<std::string, std::unique_ptr<RebuildRun>> rebuilds_;
  std::map<std::string, http::RebuildStatus> failed_rebuilds_;  ///< the last rebuild's, until another starts
  http::EndpointSettings settings_;
};

}  // namespace projectord
