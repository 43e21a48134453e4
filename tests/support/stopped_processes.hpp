#pragma once
/// Processes frozen with SIGSTOP for the life of an object: a test hangs a database under a client by
/// stopping the server's backends of that client.
///
/// Contract: the constructor sends SIGSTOP to every pid and throws std::runtime_error (naming the pid and the
/// error, e.g. EPERM when the test may not signal them) after continuing the ones it had already stopped. The
/// destructor sends SIGCONT to all of them. A frozen backend left behind would hang much more than its test (in
/// PostgreSQL 15 every DROP DATABASE waits for all backends), so also when the test process dies without
/// unwinding (a crash, ctest's timeout killing its process tree) they are continued: by a guardian process,
/// detached from the test's process tree and deaf to SIGTERM and SIGINT, which waits for the end of a pipe whose
/// only writer is this object and then sends SIGCONT itself.
#include <sys/types.h>

#include <vector>

namespace projectord::testing {

class StoppedProcesses {
 public:
  explicit StoppedProcesses(std::vector<pid_t> pids);
  ~StoppedProcesses();
  StoppedProcesses(const StoppedProcesses&) = delete;
  StoppedProcesses& operator=(const StoppedProcesses&) = delete;

  const std::vector<pid_t>& pids() const { return pids_; }

 private:
  void continue_all();

  std::vector<pid_t> pids_;
  int guardian_pipe_ = -1;  ///< write end; closing it (or dying) tells the guardian to continue the processes
};

}  // namespace projectord::testing
