#include "bench/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace projectord::bench {

namespace {

// The pipes between us and the launcher: requests go down, replies come up.
int request_fd = -1;
int reply_fd = -1;

// A request is answered at once with a `started` reply; the child's exit follows whenever it happens, so
// the exits of children running side by side arrive in the order they end. A reply is far smaller than
// PIPE_BUF, so the launcher's threads never interleave theirs.
struct Reply {
  pid_t pid = 0;  ///< the child's, or -errno when it could not be started
  bool exited = false;
  ExitInfo info;
};

// Exits read while we were waiting for another reply (ours, the benchmark's side of the pipes).
std::map<pid_t, ExitInfo> early_exits;

std::runtime_error system_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// A request is a list of strings: the log path, the argv, an empty string, then the extra KEY=VALUE entries.
bool write_strings(int fd, const std::vector<std::string>& strings) {
  const auto count = static_cast<std::uint32_t>(strings.size());
  if (!write_all(fd, &count, sizeof count)) return false;
  for (const std::string& s : strings) {
    const auto size = static_cast<std::uint32_t>(s.size());
    if (!write_all(fd, &size, sizeof size) || !write_all(fd, s.data(), s.size())) return false;
  }
  return true;
}

bool read_strings(int fd, std::vector<std::string>& strings) {
  std::uint32_t count = 0;
  if (!read_all(fd, &count, sizeof count)) return false;
  strings.assign(count, {});
  for (std::string& s : strings) {
    std::uint32_t size = 0;
    if (!read_all(fd, &size, sizeof size)) return false;
    s.resize(size);
    if (!read_all(fd, s.data(), size)) return false;
  }
  return true;
}

std::mutex send_mutex;  // the launcher's threads share the reply pipe

bool send_reply(int fd, const Reply& reply) {
  std::lock_guard lock(send_mutex);
  return write_all(fd, &reply, sizeof reply);
}

// Forks and execs one request's process, and starts the thread that reaps it; returns false when the
// benchmark has gone.
bool launch(int requests, int replies) {
  std::vector<std::string> request;
  if (!read_strings(requests, request)) return false;
  const std::string& log_path = request.at(0);
  std::vector<char*> argv;
  std::size_t i = 1;
  for (; i < request.size() && !request[i].empty(); ++i) argv.push_back(request[i].data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry = *e;
    bool overridden = false;
    for (std::size_t j = i + 1; j < request.size(); ++j) {
      const std::string_view extra = request[j];
      overridden = overridden || entry.substr(0, entry.find('=') + 1) == extra.substr(0, extra.find('=') + 1);
    }
    if (!overridden) envp.push_back(*e);
  }
  for (std::size_t j = i + 1; j < request.size(); ++j) envp.push_back(request[j].data());
  envp.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = log_fd < 0 ? -1 : ::fork();
  if (pid == 0) {
    // The launcher's main thread forks every child, so the launcher gone means the benchmark is gone.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  if (pid < 0) pid = -errno;
  if (!send_reply(replies, {.pid = pid, .exited = false, .info = {}})) return false;
  if (pid < 0) return true;

  // Reaped by a thread of its own, so that the next request is served while this child runs.
  std::thread([pid, started, replies] {
    int status = 0;
    struct rusage usage {};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    Reply exit{.pid = pid, .exited = true, .info = {}};
    exit.info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    exit.info.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    exit.info.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    exit.info.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    send_reply(replies, exit);  // if the benchmark is gone, so is everybody else soon
  }).detach();
  return true;
}

Reply read_reply() {
  Reply reply;
  if (!read_all(reply_fd, &reply, sizeof reply)) throw std::runtime_error("the process launcher died");
  return reply;
}

// Reads replies until `pid`'s exit arrives (keeping the other children's), or until `timeout` has passed.
std::optional<ExitInfo> await_exit(pid_t pid, std::optional<std::chrono::milliseconds> timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  for (;;) {
    if (const auto it = early_exits.find(pid); it != early_exits.end()) {
      const ExitInfo info = it->second;
      early_exits.erase(it);
      return info;
    }
    if (timeout) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      struct pollfd ready {
        reply_fd, POLLIN, 0
      };
      int n = 0;
      while ((n = ::poll(&ready, 1, static_cast<int>(std::max<long>(left, 0)))) < 0 && errno == EINTR) {
      }
      if (n == 0) return std::nullopt;
    }
    // Only exits come outside a constructor: it reads its own `started` reply before it returns.
    const Reply reply = read_reply();
    early_exits[reply.pid] = reply.info;
  }
}

}  // namespace

void start_launcher() {
  if (request_fd >= 0) return;
  int requests[2];
  int replies[2];
  if (::pipe2(requests, O_CLOEXEC) != 0 || ::pipe2(replies, O_CLOEXEC) != 0) throw system_error("pipe2");
  const pid_t pid = ::fork();
  if (pid < 0) throw system_error("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(requests[1]);
    ::close(replies[0]);
    while (launch(requests[0], replies[1])) {
    }
    ::_exit(0);
  }
  ::close(requests[0]);
  ::close(replies[1]);
  request_fd = requests[1];
  reply_fd = replies[0];
}

Child::Child(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& extra_env,
             const std::string& log_path) {
  if (request_fd < 0) throw std::logic_error("bench::Child: start_launcher() was not called");
  std::vector<std::string> request{log_path};
  request.insert(request.end(), argv.begin(), argv.end());
  request.emplace_back();
  for (const auto& [key, value] : extra_env) request.push_back(key + "=" + value);
  if (!write_strings(request_fd, request)) throw std::runtime_error("the process launcher died");
  for (Reply reply = read_reply();; reply = read_reply()) {
    if (!reply.exited) {
      pid_ = reply.pid;
      break;
    }
    early_exits[reply.pid] = reply.info;
  }
  if (pid_ < 0) {
    errno = -pid_;
    throw system_error("cannot start " + argv.at(0) + " (log " + log_path + ")");
  }
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    try {
      await_exit(pid_, std::nullopt);
    } catch (const std::exception&) {
      // The launcher is gone, and with it the child (PR_SET_PDEATHSIG).
    }
  }
}

void Child::signal(int signal_number) const {
  if (pid_ > 0) ::kill(pid_, signal_number);
}

ExitInfo Child::wait() {
  if (pid_ <= 0) throw std::logic_error("bench::Child::wait: already reaped");
  const pid_t pid = std::exchange(pid_, -1);
  return *await_exit(pid, std::nullopt);
}

std::optional<ExitInfo> Child::wait_for(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("bench::Child::wait_for: already reaped");
  auto exit = await_exit(pid_, timeout);
  if (exit) pid_ = -1;
  return exit;
}

ExitInfo run_process(const std::vector<std::string>& argv,
                     const std::vector<std::pair<std::string, std::string>>& extra_env, const std::string& log_path) {
  Child child(argv, extra_env, log_path);
  return child.wait();
}

std::string tail_of(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& line : last) out += "  | " + line + "\n";
  return out;
}

}  // namespace projectord::bench
