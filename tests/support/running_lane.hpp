#pragma once
/// One lane (daemon/lane.hpp) running on a thread of its own for the length of a test, over a PostgreSQL
/// source (its WakeSignal stands in for NOTIFY: wake() after writing) or over any source, with the handler
/// its config makes or one the test made.
#include <memory>
#include <thread>

#include "config/config.hpp"
#include "base/clock.hpp"
#include "sources/source.hpp"
#include "daemon/lane.hpp"
#include "daemon/leases/lease_keeper.hpp"
#include "base/wake_signal.hpp"
#include "tests/support/test_database.hpp"

namespace projectord::testing {

class RunningLane {
 public:
  RunningLane(const TestDatabase& db, const config::PostgresSource& source, const config::Handler& handler,
              LaneOptions options = {});
  RunningLane(const TestDatabase& db, std::unique_ptr<Source> source, const config::Handler& handler,
              LaneOptions options = {});
  RunningLane(const TestDatabase& db, std::unique_ptr<Source> source, const config::Handler& handler,
              std::unique_ptr<handlers::ProjectionHandler> projection, LaneOptions options = {});
  ~RunningLane() { stop(); }
  RunningLane(const RunningLane&) = delete;
  RunningLane& operator=(const RunningLane&) = delete;

  /// Stops the lane (after its transaction in flight) and joins its thread.
  void stop();
  LaneStatus status() const { return lane_->status(); }
  void wake() { wake_.notify(); }
  Lane& lane() { return *lane_; }

 private:
  SteadyClock clock_;
  WakeSignal wake_;
  LeaseKeeper leases_;  ///< this process's, as the daemon's supervisor keeps it; outlives the lane
  std::unique_ptr<Lane> lane_;
  std::jthread thread_;
};

}  // namespace projectord::testing
