#include "tests/faults/scenario_report.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/support/process_stats.hpp"

namespace projectord::testing::faults {

void ScenarioFigures::observe(pid_t daemon) {
  peak_rss_kib = std::max(peak_rss_kib, testing::peak_rss_kib(daemon));
  const std::int64_t fds = open_fds(daemon);
  if (fds < 0) return;
  if (fds_at_start < 0) fds_at_start = fds;
  fds_at_end = fds;
}

void report(const ScenarioFigures& figures) {
  std::ostringstream row;
  row << figures.scenario << '\t' << figures.faults_injected << '\t' << figures.events_written << '\t'
      << figures.events_applied << '\t' << figures.duplicates << '\t' << figures.losses << '\t'
      << figures.peak_rss_kib / 1024 << " MiB\t" << figures.fds_at_start << " -> " << figures.fds_at_end;
  std::cout << "fault scenario: " << row.str() << std::endl;
  if (const char* file = std::getenv("PROJECTORD_FAULT_REPORT"); file != nullptr && *file != '\0') {
    std::ofstream(file, std::ios::app) << row.str() << '\n';
  }
}

}  // namespace projectord::testing::faults
