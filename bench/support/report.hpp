#pragma once
/// The parts of a benchmark's output that are the same for every benchmark: the dated header with the
/// machine, figures, and PASS/FAIL check lines.
#include <pqxx/connection>
#include <string>
#include <string_view>

namespace projectord::bench {

/// Prints the title, the date (UTC, `date -u` format), nproc, the PostgreSQL server's version and fsync, and
/// the CMake build type of the benchmarks (and so of the projectord built with them).
void print_header(std::string_view title, pqxx::connection& connection);

/// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals);

/// A ratio as "0.27x" or "82x": two significant decimals below 10, none above.
std::string ratio(double numerator, double denominator);

/// Counts failed checks and prints each as `check <what>: PASS|FAIL (<detail>)`.
class Checks {
 public:
  void expect(bool ok, std::string_view what, std::string_view detail = "");
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

}  // namespace projectord::bench
