#pragma once
/// Keeps this process's leases (checkpoints/leases.hpp) on one connection and one thread of its own, off every
/// lane's apply path: each renew interval it announces the process with the handlers it runs, renews every
/// lease its lanes hold in one statement, lets go of those handed back, reads the standbys and the live
/// processes, and asks the lanes above this process's fair share of the spread to hand leases over
/// (daemon/leases/lease_spread.hpp). A lane learns from its lease's listener that the lease was lost (a
/// renewal found it taken over) or is wanted elsewhere; either way it stops at a transaction boundary.
///
/// Nothing here may hold up a stop for long on a network gone silent: the connection gives up connecting after
/// a few seconds and a send left unanswered for a lease's length, and a stop shuts the socket of a call in
/// flight down. When the keeper cannot reach the database its leases expire and the fenced checkpoints stop
/// its lanes committing, which is what must happen.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "checkpoints/leases.hpp"

namespace projectord {

struct LeaseTiming {
  std::chrono::milliseconds length{3000};
  std::chrono::milliseconds renew_interval{1000};
  /// How long a process at its fair share leaves a free lease to one below its share before taking it: two
  /// renew intervals, so that the one below, asking every interval, gets there first.
  std::chrono::milliseconds yield() const { return 2 * renew_interval; }
};

class LeaseKeeper {
 public:
  /// What the keeper tells a lane of its lease, from the keeper's thread: must not block.
  struct Listener {
    std::function<void(const std::vector<checkpoints::LeaseStandby>&)> renewed{};  ///< with the standbys seen
    std::function<void()> lost{};       ///< once, when a renewal finds the lease taken over
    std::function<void()> hand_over{};  ///< once, when another process should run the handler
  };
  using Ticket = std::uint64_t;

  /// `target_url`: the database of the leases; `owner`: this process (checkpoints::this_process()).
  LeaseKeeper(std::string target_url, checkpoints::LeaseOwner owner, LeaseTiming timing);
  /// Lets go of what was handed back with `release`, takes the process out of the spread, and stops.
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  const checkpoints::LeaseOwner& owner() const { return owner_; }
  const LeaseTiming& timing() const { return timing_; }

  /// The lease names this process runs lanes for, over which the live processes spread.
  void run_handlers(std::vector<std::string> names);

  /// Renews the lease on `name` taken at `epoch` from now on, until `give_back`.
  Ticket keep(const std::string& name, std::int64_t epoch, Listener listener);
  /// Stops renewing the lease; `release`: lets it go at once (soon, on the keeper's thread), so that a standby
  /// takes it without waiting for it to expire.
  void give_back(Ticket ticket, bool release);

 private:
  struct Kept {
    checkpoints::HeldLease lease;
    Listener listener;
    bool handing_over = false;
  };
  struct Round;

  void keep_until(std::stop_token stop);
  void run_round(pqxx::connection& connection, Round& round);

  const std::string target_url_;
  const checkpoints::LeaseOwner owner_;
  const LeaseTiming timing_;

  std::mutex mutex_;  // guards the members below
  std::condition_variable_any wake_;
  std::vector<std::string> handlers_;
  std::map<Ticket, Kept> kept_;
  std::vector<checkpoints::HeldLease> to_release_;
  bool announce_now_ = false;  ///< the handlers changed: a round at once, so the spread knows soon
  Ticket next_ticket_ = 1;

  std::jthread thread_;  ///< last: it stops and joins before the members it uses go
};

}  // namespace projectord
