#include "bench/metrics/wrk.hpp"

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace projectord::bench {

Wrk::Wrk(const std::string& wrk_binary, const std::string& url, std::int64_t connections, std::chrono::seconds limit,
         const std::string& log_path)
    : log_path_(log_path),
      child_(std::make_unique<Child>(
          std::vector<std::string>{wrk_binary, "--threads", "1", "--connections", std::to_string(connections),
                                   "--duration", std::to_string(limit.count()) + "s", "--timeout",
                                   std::to_string(kWrkTimeout.count()) + "s", "--latency", "--script", BENCH_WRK_SCRIPT,
                                   url},
          std::vector<std::pair<std::string, std::string>>{}, log_path)) {}

void Wrk::stop() const { child_->signal(SIGINT); }

WrkResult Wrk::finish(std::chrono::seconds timeout) {
  const auto exit = child_->wait_for(timeout);
  if (!exit) throw std::runtime_error("wrk still runs " + std::to_string(timeout.count()) + " s after its end");
  if (exit->exit_code != 0) {
    throw std::runtime_error("wrk exited with " + std::to_string(exit->exit_code) + ":\n" + tail_of(log_path_));
  }
  std::map<std::string, double, std::less<>> figures;
  std::ifstream log(log_path_);
  for (std::string line; std::getline(log, line);) {
    std::istringstream words(line);
    std::string tag;
    std::string key;
    double value = 0;
    if (words >> tag >> key >> value && tag == "bench") figures[key] = value;
  }
  const auto figure = [&](std::string_view key) {
    const auto it = figures.find(key);
    if (it == figures.end())
      throw std::runtime_error("wrk printed no " + std::string(key) + ":\n" + tail_of(log_path_));
    return it->second;
  };
  WrkResult result;
  result.requests = static_cast<std::int64_t>(figure("requests"));
  result.seconds = figure("duration_us") / 1e6;
  result.latency_p50_ms = figure("latency_p50_us") / 1e3;
  result.latency_p99_ms = figure("latency_p99_us") / 1e3;
  result.latency_max_ms = figure("latency_max_us") / 1e3;
  result.socket_errors =
      static_cast<std::int64_t>(figure("errors_connect") + figure("errors_read") + figure("errors_write"));
  result.slow = static_cast<std::int64_t>(figure("errors_timeout"));  // wrk counts the late answers it got
  result.bad_status = static_cast<std::int64_t>(figure("errors_status"));
  result.cpu_seconds = exit->cpu_seconds;
  return result;
}

}  // namespace projectord::bench
