#include "tests/support/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace projectord::testing {
namespace {

std::string temp_log_path() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/projectord-test-XXXXXX.log";
  const int fd = ::mkstemps(path.data(), 4);
  if (fd < 0) throw std::runtime_error("cannot create a log file " + path + ": " + std::strerror(errno));
  ::close(fd);
  return path;
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view item(*entry);
    const std::string key(item.substr(0, item.find('=')));
    if (extra.find(key) == extra.end()) out.emplace_back(item);
  }
  for (const auto& [key, value] : extra) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// PROJECTORD_TEST_DAEMON_WRAPPER (words separated by spaces, e.g. "strace -D -f -qq -ff -o DIR/trace --")
// goes before every projectord the tests start, so that a test run can watch the binary from outside.
std::vector<std::string> wrapped(std::vector<std::string> args) {
  const char* wrapper = std::getenv("PROJECTORD_TEST_DAEMON_WRAPPER");
  const std::string& program = args.front();
  const bool is_projectord = program == "projectord" || program.ends_with("/projectord");
  if (wrapper == nullptr || *wrapper == '\0' || !is_projectord) return args;
  std::vector<std::string> words;
  std::istringstream split(wrapper);
  for (std::string word; split >> word;) words.push_back(word);
  args.insert(args.begin(), words.begin(), words.end());
  return args;
}

int decode_status(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

}  // namespace

DaemonProcess::DaemonProcess(std::vector<std::string> args, std::map<std::string, std::string> env) {
  if (args.empty()) throw std::invalid_argument("DaemonProcess needs at least the program to run");
  args = wrapped(std::move(args));
  log_path_ = temp_log_path();
  std::vector<std::string> environment = merged_environment(env);
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(environment);
  const pid_t parent = ::getpid();
  const bool search_path = args[0].find('/') == std::string::npos;

  // The child reports a failed exec through this close-on-exec pipe; a successful exec closes it silently.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));

  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(report[0]);
    ::close(report[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    ::close(report[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);  // own process group: a Ctrl-C meant for ctest reaches the daemon only through us
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
      const int error = errno;
      [[maybe_unused]] const ssize_t n = ::write(report[1], &error, sizeof error);
      ::_exit(127);
    }
    if (search_path) {
      ::execvpe(argv[0], argv.data(), envp.data());
    } else {
      ::execve(argv[0], argv.data(), envp.data());
    }
    const int error = errno;
    [[maybe_unused]] const ssize_t n = ::write(report[1], &error, sizeof error);
    ::_exit(127);
  }

  ::close(report[1]);
  int child_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(report[0], &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got == static_cast<ssize_t>(sizeof child_errno)) {
    reap(true);
    ::unlink(log_path_.c_str());
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(child_errno));
  }
}

DaemonProcess::~DaemonProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  ::unlink(log_path_.c_str());
}

bool DaemonProcess::reap(bool block) {
  if (exit_code_) return true;
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_code_ = decode_status(status);
    return true;
  }
  if (r < 0) exit_code_ = -1;  // not our child any more (reaped elsewhere): treat as gone
  return r < 0;
}

void DaemonProcess::signal(int signo) {
  if (!exit_code_) ::kill(pid_, signo);
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

bool DaemonProcess::running() { return !reap(false); }

std::string DaemonProcess::log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

RunResult run_command(std::vector<std::string> args, std::map<std::string, std::string> env,
                      std::chrono::milliseconds timeout) {
  DaemonProcess process(std::move(args), std::move(env));
  RunResult result;
  std::optional<int> code = process.wait_exit(timeout);
  if (!code) {
    result.timed_out = true;
    process.signal(SIGKILL);
    code = process.wait_exit(std::chrono::seconds(10));
  }
  result.exit_code = code.value_or(-1);
  result.output = process.log();
  return result;
}

}  // namespace projectord::testing
