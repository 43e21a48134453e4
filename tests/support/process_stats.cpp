#include "tests/support/process_stats.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace projectord::testing {

namespace {

// A "Name:   1234 kB" line of /proc/PID/status.
std::int64_t status_kib(pid_t pid, const std::string& name) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(name)) return std::stoll(line.substr(name.size()));
  }
  return -1;
}

}  // namespace

std::int64_t peak_rss_kib(pid_t pid) { return status_kib(pid, "VmHWM:"); }

std::int64_t rss_kib(pid_t pid) { return status_kib(pid, "VmRSS:"); }

std::int64_t open_fds(pid_t pid) {
  std::error_code error;
  std::filesystem::directory_iterator entries("/proc/" + std::to_string(pid) + "/fd", error);
  if (error) return -1;
  std::int64_t count = 0;
  for (auto it = entries; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return -1;
    ++count;
  }
  return count;
}

}  // namespace projectord::testing
