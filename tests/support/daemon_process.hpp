#pragma once
/// A child process for black-box tests: the projectord binary (or any other) with its output in a log file.
///
/// Contract: the constructor starts `args[0]` (a path, or a name looked up in PATH) with `args` as argv, the
/// test's environment plus `env` (which overrides variables of the same name), stdin from /dev/null and
/// stdout+stderr appended to a fresh temporary log file; it throws std::runtime_error when the program
/// cannot be started. The child gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), so a
/// crashed test leaves no daemon behind: start it from the test's own thread. The destructor SIGKILLs and reaps a child
/// that is still running and removes the log file. Waiting is by polling with a deadline; nothing here blocks without
/// one.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace projectord::testing {

class DaemonProcess {
 public:
  explicit DaemonProcess(std::vector<std::string> args, std::map<std::string, std::string> env = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// Sends `signo` (SIGTERM, SIGHUP, SIGUSR1, ...); does nothing once the process has been reaped.
  void signal(int signo);
  /// Exit code, or 128 + signal number if a signal ended it; std::nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  /// Everything the process has written to stdout and stderr so far.
  std::string log() const;
  const std::string& log_path() const { return log_path_; }

 private:
  bool reap(bool block);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

struct RunResult {
  int exit_code = -1;  ///< as DaemonProcess::wait_exit; 128 + SIGKILL when it timed out
  bool timed_out = false;
  std::string output;  ///< stdout and stderr, interleaved as written
};

/// Runs a command to completion (CLI tests: `projectord check-config`, `migrate`, `status`, ...). A command
/// still running after `timeout` is killed and reported with timed_out = true. The default only catches a hung
/// command: a writer of tens of thousands of events under a sanitizer on a busy machine takes minutes.
RunResult run_command(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                      std::chrono::milliseconds timeout = std::chrono::minutes(5));

}  // namespace projectord::testing
