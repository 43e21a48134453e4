#pragma once
/// Append-to-visible latency, as the live and rebuild benchmarks measure it: a writer that appends events at a
/// steady rate the way eventsourcing_django does, a trigger that makes a table's new rows visible as a NOTIFY
/// on channel kVisibleChannel whose payload is the event's stored_events id, a listener that timestamps each
/// one, latency percentiles, and one measured phase of all that.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <pqxx/connection>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "examples/user_events.hpp"

namespace projectord::bench {

using Clock = std::chrono::steady_clock;
inline constexpr const char* kVisibleChannel = "bench_visible";

/// Nearest-rank percentiles of latencies, in milliseconds.
struct LatencySummary {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};
LatencySummary summarize(std::vector<double> milliseconds);

struct Commit {
  std::int64_t id;
  Clock::time_point committed;  ///< taken right after COMMIT returned
};

struct WriteRun {
  std::vector<Commit> commits;
  double seconds = 0;  ///< the writing time: `seconds`, or more when the last commit ended later
};

/// Appends `rate` events per second from `generator` for `seconds` seconds, or until `stop` is requested,
/// one per transaction: LOCK TABLE stored_events IN EXCLUSIVE MODE, INSERT ... RETURNING id, COMMIT (plain
/// JSON state). An event behind its schedule is written at once; when commits are slower than the rate
/// (fsync), fewer events are written, and the achieved rate (commits / seconds) says so.
WriteRun write_at_rate(pqxx::connection& connection, examples::UserEventGenerator& generator, std::int64_t rate,
                       std::int64_t seconds, std::stop_token stop = {});

/// LISTENs on kVisibleChannel from a thread of its own and records when each id arrived. LISTEN is in
/// effect when the constructor returns.
class VisibilityListener {
 public:
  explicit VisibilityListener(const std::string& url);
  ~VisibilityListener();
  VisibilityListener(const VisibilityListener&) = delete;
  VisibilityListener& operator=(const VisibilityListener&) = delete;

  /// Waits until every id of `commits` has arrived, or `timeout`; true when all did.
  bool wait_for_all(const std::vector<Commit>& commits, std::chrono::seconds timeout);

  /// visible - committed per commit, in milliseconds; ids that never arrived are left out.
  std::vector<double> latencies(const std::vector<Commit>& commits);

 private:
  struct Receiver;

  pqxx::connection connection_;
  std::unique_ptr<Receiver> receiver_;
  std::mutex mutex_;
  std::unordered_map<std::int64_t, Clock::time_point> arrived_;  ///< guarded by mutex_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Installs a row trigger on `table` that notifies kVisibleChannel with the new row's `id_column` (a
/// stored_events id). It belongs to that table: a rebuild's swap, which replaces the table, drops it.
void install_visibility_trigger(pqxx::connection& connection, const std::string& table, const std::string& id_column);

void drop_visibility_trigger(pqxx::connection& connection, const std::string& table);

/// How long a phase waits, after its writer stopped, for the events still to become visible.
inline constexpr auto kVisibleTimeout = std::chrono::seconds(30);

struct LivePhase {
  LatencySummary latency;
  double achieved_rate = 0;
  double seconds = 0;  ///< the writing time
  std::size_t written = 0;
  bool all_visible = false;  ///< within kVisibleTimeout after the writer stopped
};

/// One measurement on connections of its own to `url`: a listener runs while write_at_rate writes (for
/// `seconds`, or until `stop`), then waits for the stragglers.
LivePhase measure_visibility(const std::string& url, examples::UserEventGenerator& generator, std::int64_t rate,
                             std::int64_t seconds, std::stop_token stop = {});

/// One line: the achieved rate, p50/p90/p99/max, and how many events were seen.
void print_phase(const std::string& name, const LivePhase& phase);

}  // namespace projectord::bench
