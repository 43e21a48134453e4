#pragma once
/// Several `projectord run` processes of one config side by side, as bench-scale starts, kills and stops
/// them, and the leases they hold.
///
/// Contract: each daemon logs to a file of its own in the work directory; a wait polls every 20 ms and throws,
/// with the log's tail, when a daemon exits unasked. Daemons are named by their pid, the one
/// `projectord.leases` and `projectord.processes` record. Whatever still runs when the group goes is killed.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <string_view>
#include <vector>

#include "bench/support/process.hpp"
#include "bench/support/report.hpp"
#include "bench/support/store.hpp"

namespace projectord::bench {

class DaemonGroup {
 public:
  DaemonGroup(const Projectord& projectord, std::string work_dir);

  /// Starts one more daemon; returns its pid.
  pid_t start();

  /// The pids of the daemons running, in the order they were started.
  std::vector<pid_t> pids() const;

  /// kill -9 of daemon `pid`, reaped before this returns.
  void kill(pid_t pid);

  /// Polls `condition` until it holds (true) or `timeout` has passed (false); throws with the log's tail when a
  /// daemon exits first (`while_doing` says what it was doing then).
  bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                  std::string_view while_doing);

  /// Sends every daemon SIGTERM and checks (named after `phase`) that each exits 0 within 60 s; returns the
  /// CPU seconds they used, start-up and shutdown included.
  double stop_all(Checks& checks, std::string_view phase);

 private:
  struct Member {
    std::unique_ptr<Child> child;
    std::string log_path;
  };

  const Projectord& projectord_;
  std::string work_dir_;
  int started_ = 0;
  std::vector<Member> members_;
};

/// How many leases on handlers (a rebuild's shadow left out) each daemon holds that have not expired, by pid;
/// a daemon that holds none is not listed.
std::map<pid_t, std::int64_t> leases_by_pid(pqxx::connection& connection);

/// True when each of the group's daemons holds `share` leases (leases_by_pid).
bool each_holds(pqxx::connection& connection, const DaemonGroup& group, std::int64_t share);

}  // namespace projectord::bench
