#pragma once
/// wrk, the HTTP load generator, aimed at one URL: started as a Child (so it runs beside the daemon it
/// loads) with wrk_report.lua, which makes it print its figures in a form read back here.
///
/// Contract: Wrk starts wrk at construction for at most `limit` (whole seconds); stop() ends it early
/// (SIGINT, after which wrk prints its figures as at the end of the duration) and finish() waits for the
/// end and returns the figures; it throws when wrk does not exit 0 or prints no figures.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bench/support/process.hpp"

namespace projectord::bench {

struct WrkResult {
  std::int64_t requests = 0;
  double seconds = 0;
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
  std::int64_t socket_errors = 0;  ///< connect, read and write errors
  std::int64_t bad_status = 0;     ///< responses with a status of 400 or more
  std::int64_t slow = 0;           ///< responses later than kWrkTimeout, left out of the latencies
  double cpu_seconds = 0;          ///< what wrk itself used: on a small machine, taken from the daemon and its server

  double requests_per_second() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

/// Prometheus's default scrape_timeout: a scrape slower than this is lost.
inline constexpr std::chrono::seconds kWrkTimeout{10};

class Wrk {
 public:
  /// One wrk thread: the daemon answers on one thread, and the other core is the daemon's and the
  /// server's (this benchmark's machine has two).
  Wrk(const std::string& wrk_binary, const std::string& url, std::int64_t connections, std::chrono::seconds limit,
      const std::string& log_path);

  void stop() const;
  /// Waits at most `timeout` for wrk to end.
  WrkResult finish(std::chrono::seconds timeout);

 private:
  std::string log_path_;
  std::unique_ptr<Child> child_;
};

}  // namespace projectord::bench
