#pragma once
/// The figures every fault scenario reports, and the table they go to.
///
/// Contract: a scenario fills a ScenarioFigures as it runs (observe() after each start of the daemon and
/// before each fault, so peak RSS and fds cover every incarnation) and calls report() once at its end, pass or
/// fail. report() prints one line to stdout and, when PROJECTORD_FAULT_REPORT names a file, appends one
/// tab-separated row to it (scripts/test.sh prints that file as the scenario table after the run). A scenario
/// then asserts duplicates == 0 and losses == 0 itself.
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace projectord::testing::faults {

struct ScenarioFigures {
  std::string scenario;              ///< short name, e.g. "kill -9 storm (postgres)"
  std::int64_t faults_injected = 0;  ///< kills, restarts, stalls, ... as the scenario counts them
  std::int64_t events_written = 0;   ///< committed by the writers (rolled-back ones excluded)
  std::int64_t events_applied = 0;   ///< distinct events found in the read models or receipts at the end
  std::int64_t duplicates = 0;       ///< effects applied more often than allowed
  std::int64_t losses = 0;           ///< events written whose effect is missing or wrong
  std::int64_t peak_rss_kib = 0;     ///< the highest VmHWM of any incarnation of the daemon
  std::int64_t fds_at_start = -1;    ///< descriptors of the first incarnation once it was running
  std::int64_t fds_at_end = -1;      ///< descriptors of the last incarnation at the end

  /// Samples a running daemon: raises peak_rss_kib, sets fds_at_start on the first call, fds_at_end on each.
  void observe(pid_t daemon);
};

/// Prints the figures and appends them to the report file; see the contract above.
void report(const ScenarioFigures& figures);

}  // namespace projectord::testing::faults
