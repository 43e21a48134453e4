#pragma once
/// Child processes started with fork/exec and reaped with wait4, so their wall-clock time and peak RSS are
/// measured for the whole process, start-up included.
///
/// Why a launcher: Linux charges a child's ru_maxrss with the memory of the process image it had before
/// exec, i.e. a copy of the forking parent. A benchmark that has generated a million events would report
/// its own size as projectord's. So `start_launcher()`, called first thing in main() while we are still
/// small, forks a launcher process that starts (and reaps) every Child: their ru_maxrss is their own.
///
/// Contract: Children may run side by side (a daemon and the load generator aimed at it); they are started
/// and waited for from one thread. The child's stdout and stderr go to `log_path` (appended); its environment
/// is ours at start_launcher() plus `extra_env`. A Child still running when destroyed is killed (SIGKILL)
/// and reaped; if the benchmark dies, the launcher and the children are killed too, so no daemon is left
/// behind.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace projectord::bench {

struct ExitInfo {
  int exit_code = 0;       ///< the exit status, or 128 + signal number when a signal ended the process
  double seconds = 0;      ///< wall clock from fork to reaping
  double peak_rss_mb = 0;  ///< ru_maxrss of the process, in MiB
  double cpu_seconds = 0;  ///< user + system CPU time of the process
};

/// Forks the launcher; call it before anything else in main(). Idempotent.
void start_launcher();

class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& extra_env,
        const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// The process id (the daemon's own: a lease or /status names it); -1 once reaped.
  pid_t pid() const { return pid_; }
  void signal(int signal_number) const;
  /// Blocks until the process exits.
  ExitInfo wait();
  /// The exit, or nullopt when the process still runs after `timeout`.
  std::optional<ExitInfo> wait_for(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;  ///< -1 once reaped
};

/// Starts the process and waits for it.
ExitInfo run_process(const std::vector<std::string>& argv,
                     const std::vector<std::pair<std::string, std::string>>& extra_env, const std::string& log_path);

/// The last `lines` lines of a file, for error messages about a child that failed.
std::string tail_of(const std::string& path, std::size_t lines = 20);

}  // namespace projectord::bench
