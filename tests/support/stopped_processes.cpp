#include "tests/support/stopped_processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>

namespace projectord::testing {
namespace {

void wait_for_child(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// The guardian, in a child of the test process: only async-signal-safe calls from here on.
[[noreturn]] void guard(int read_end, const std::vector<pid_t>& pids) {
  // Out of the test's process tree and session, deaf to the signals that end a test run (ctest's timeout kills
  // the whole tree, Ctrl-C the process group), holding no descriptor but its end of the pipe (one of ctest's
  // output pipe would keep ctest waiting): it outlives the test by as long as the read below takes.
  if (::fork() != 0) ::_exit(0);
  ::setsid();
  for (const int signo : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE}) ::signal(signo, SIG_IGN);
  if (read_end > 0) ::close_range(0, static_cast<unsigned>(read_end) - 1, 0);
  ::close_range(static_cast<unsigned>(read_end) + 1, UINT_MAX, 0);
  // read() returns 0 once every write end is closed: the StoppedProcesses is gone, or the test process is.
  char ignored = 0;
  while (::read(read_end, &ignored, 1) < 0 && errno == EINTR) {
  }
  for (const pid_t pid : pids) ::kill(pid, SIGCONT);
  ::_exit(0);
}

}  // namespace

StoppedProcesses::StoppedProcesses(std::vector<pid_t> pids) : pids_(std::move(pids)) {
  // Close-on-exec: a program the test starts later must not hold the write end and keep the guardian waiting.
  int pipe_ends[2];
  if (::pipe2(pipe_ends, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  const pid_t child = ::fork();
  if (child < 0) {
    const int error = errno;
    ::close(pipe_ends[0]);
    ::close(pipe_ends[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(error));
  }
  if (child == 0) {
    ::close(pipe_ends[1]);
    guard(pipe_ends[0], pids_);
  }
  wait_for_child(child);  // it exits at once, leaving the guardian (its child) to init
  ::close(pipe_ends[0]);
  guardian_pipe_ = pipe_ends[1];

  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (::kill(pids_[i], SIGSTOP) != 0) {
      const std::string message = "cannot SIGSTOP process " + std::to_string(pids_[i]) + ": " + std::strerror(errno);
      pids_.resize(i);
      continue_all();
      throw std::runtime_error(message);
    }
  }
}

StoppedProcesses::~StoppedProcesses() { continue_all(); }

void StoppedProcesses::continue_all() {
  for (const pid_t pid : pids_) ::kill(pid, SIGCONT);
  ::close(guardian_pipe_);  // the guardian sends SIGCONT too, harmlessly, and exits
}

}  // namespace projectord::testing
