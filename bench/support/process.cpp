#include "bench/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace projectord::bench {

namespace {

// The pipes between us and the launcher: requests go down, replies (a pid, later an ExitInfo) come up.
int request_fd = -1;
int reply_fd = -1;
bool child_running = false;

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

// Forks, execs and reaps one request's process; returns false when the benchmark has gone.
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
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the launcher gone means the benchmark is gone
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  if (pid < 0) pid = -errno;
  if (!write_all(replies, &pid, sizeof pid)) return false;
  if (pid < 0) return true;

  int status = 0;
  struct rusage usage {};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  ExitInfo info;
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  info.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  info.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
  return write_all(replies, &info, sizeof info);
}

ExitInfo read_exit() {
  ExitInfo info;
  if (!read_all(reply_fd, &info, sizeof info)) throw std::runtime_error("the process launcher died");
  child_running = false;
  return info;
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
  if (child_running) throw std::logic_error("bench::Child: another child is still running");
  std::vector<std::string> request{log_path};
  request.insert(request.end(), argv.begin(), argv.end());
  request.emplace_back();
  for (const auto& [key, value] : extra_env) request.push_back(key + "=" + value);
  if (!write_strings(request_fd, request) || !read_all(reply_fd, &pid_, sizeof pid_)) {
    throw std::runtime_error("the process launcher died");
  }
  if (pid_ < 0) {
    errno = -pid_;
    throw system_error("cannot start " + argv.at(0) + " (log " + log_path + ")");
  }
  child_running = true;
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    try {
      read_exit();
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
  pid_ = -1;
  return read_exit();
}

std::optional<ExitInfo> Child::wait_for(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("bench::Child::wait_for: already reaped");
  struct pollfd ready {
    reply_fd, POLLIN, 0
  };
  int n = 0;
  while ((n = ::poll(&ready, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
  }
  if (n == 0) return std::nullopt;
  pid_ = -1;
  return read_exit();
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
