#pragma once
/// One process runs a handler at a time: the one holding the lease on its checkpoint's name
/// (checkpoints/leases.hpp), so a rebuild's shadow lane holds a lease apart from the live one. The checkpoint's
/// compare-and-set alone would stop two processes applying an event twice, but a Redis consumer group would
/// split the entries between them. A lane stands by, asking again at most every renew interval (and as soon
/// as the holder's lease expires), while another process holds the lease; once it has it, the process's
/// lease keeper (daemon/leases/lease_keeper.hpp) renews it off the lane's apply path, so that a long batch does
/// not lose it. The lease fences the lane's checkpoint store: a lane that lost it (a renewal that found another
/// epoch, or a fenced checkpoint move that matched nothing) commits nothing more and stands by again; one
/// asked to hand it over (the spread) ends its session at its next transaction boundary and lets it go.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <pqxx/connection>
#include <stop_token>
#include <string>
#include <vector>

#include "daemon/leases/lease_keeper.hpp"

namespace projectord {

class HandlerLease {
 public:
  /// What the lease tells its lane, from another thread: must not block.
  struct Listener {
    std::function<void(const checkpoints::LeaseHolder&)> standing_by{};  ///< each ask that found another holder
    std::function<void(const std::vector<checkpoints::LeaseStandby>&)> renewed{};  ///< with the standbys seen
    std::function<void()> ended{};  ///< once, when the lease is lost or is to be handed over
  };

  /// Takes the lease on `checkpoint` (for `handler`, in the log) on `connection` (asked for at each try: a
  /// standby may give it back between them), standing by while another process holds it; then `keeper` renews
  /// it. Nothing when `stop` is requested before it has the lease.
  static std::unique_ptr<HandlerLease> take(const std::function<pqxx::connection&()>& connection, LeaseKeeper& keeper,
                                            const std::string& handler, const std::string& checkpoint,
                                            Listener listener, std::stop_token stop);

  /// Stops renewing; lets the lease go at once when `release_at_end` was called.
  ~HandlerLease();
  HandlerLease(const HandlerLease&) = delete;
  HandlerLease& operator=(const HandlerLease&) = delete;

  std::int64_t epoch() const { return epoch_; }
  /// When this process took the lease, as the database wrote it.
  const std::string& since() const { return since_; }
  /// A renewal found that another process took the lease over.
  bool lost() const { return lost_; }
  /// The spread wants another process to run the handler: the lane lets it go at its next transaction boundary.
  bool handing_over() const { return handing_over_; }
  /// This process lets the handler go when the lease ends (a stop, a rebuild done): a standby takes it over at
  /// once instead of after the lease's expiry. Released by the keeper, so that a stop never waits on it.
  void release_at_end() { release_ = true; }
  /// Lets the lease go now, on `connection` (a hand-over, at a transaction boundary): the lane's next session
  /// must find it released, not still its own to take again.
  void release_now(pqxx::connection& connection);

 private:
  HandlerLease(LeaseKeeper& keeper, const std::string& checkpoint, Listener listener, std::int64_t epoch,
               std::string since);

  LeaseKeeper& keeper_;
  const std::string checkpoint_;
  const Listener listener_;
  const std::int64_t epoch_;
  const std::string since_;
  std::atomic<bool> lost_ = false;
  std::atomic<bool> handing_over_ = false;
  bool release_ = false;
  LeaseKeeper::Ticket ticket_ = 0;  ///< last: the keeper calls back into the members above
};

}  // namespace projectord
