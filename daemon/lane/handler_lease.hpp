#pragma once
/// One process runs a handler at a time: the one holding the lease on its checkpoint's name
/// (checkpoints/leases.hpp), so a rebuild's shadow lane holds a lease apart from the live one. The checkpoint's
/// compare-and-set alone would stop two processes applying an event twice, but a Redis consumer group would
/// split the entries between them. A lane stands by, asking again at most every renew interval (and as soon
/// as the holder's lease expires), while another process holds the lease; once it has it, a thread of the
/// lease's own renews it on a connection of its own, off the lane's apply path, so that a long batch does not
/// lose it. The lease fences the lane's checkpoint store: a lane that lost it (a renewal that found another
/// epoch, or a fenced checkpoint move that matched nothing) commits nothing more and stands by again.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "checkpoints/leases.hpp"

namespace projectord {

struct LeaseTiming {
  std::chrono::milliseconds length{3000};
  std::chrono::milliseconds renew_interval{1000};
};

class HandlerLease {
 public:
  /// What the lease tells its lane, from the lease's thread: must not block.
  struct Listener {
    std::function<void(const checkpoints::LeaseHolder&)> standing_by{};  ///< each ask that found another holder
    std::function<void(const std::vector<checkpoints::LeaseStandby>&)> renewed{};  ///< with the standbys seen
    std::function<void()> lost{};  ///< once, when a renewal finds the lease taken over
  };

  /// What a lease is of, and for whom.
  struct Terms {
    std::string target_url;  ///< the database of the checkpoint, for the renewals' own connection
    std::string handler;     ///< for the log
    std::string checkpoint;  ///< the lease's name
    checkpoints::LeaseOwner owner;
    LeaseTiming timing;
  };

  /// Takes the lease on `connection`, standing by while another process holds it; then renews it every renew
  /// interval on a connection of its own. Nothing when `stop` is requested before it has the lease.
  static std::unique_ptr<HandlerLease> take(pqxx::connection& connection, Terms terms, Listener listener,
                                            std::stop_token stop);

  /// Stops renewing; lets the lease go at once when `release_at_end` was called.
  ~HandlerLease();
  HandlerLease(const HandlerLease&) = delete;
  HandlerLease& operator=(const HandlerLease&) = delete;

  std::int64_t epoch() const { return epoch_; }
  /// When this process took the lease, as the database wrote it.
  const std::string& since() const { return since_; }
  /// A renewal found that another process took the lease over.
  bool lost() const { return lost_; }
  /// This process lets the handler go when the lease ends (a stop, a rebuild done): a standby takes it over
  /// at once instead of after the lease's expiry.
  void release_at_end() { release_ = true; }

 private:
  HandlerLease(Terms terms, Listener listener, std::int64_t epoch, std::string since);
  void renew_until(std::stop_token stop);

  const Terms terms_;
  const Listener listener_;
  const std::int64_t epoch_;
  const std::string since_;
  std::atomic<bool> lost_ = false;
  std::atomic<bool> release_ = false;
  std::jthread renewer_;  ///< last: it stops and joins before the members it uses go
};

}  // namespace projectord
