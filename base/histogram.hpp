#pragma once
/// A fixed-bucket histogram a lane fills as it commits (batch sizes, batch durations) and the metrics
/// endpoint copies out with the lane's status. Buckets are fixed at compile time so that a status copy
/// allocates nothing and every handler's histogram lines up in Prometheus.
#include <array>
#include <cstddef>
#include <cstdint>

namespace projectord {

template <std::size_t N>
struct Histogram {
  std::array<double, N> upper_bounds;  ///< ascending; +Inf is implicit
  std::array<std::uint64_t, N> counts{};  ///< per bucket (not cumulative); values above the last bound only in count
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double value) {
    for (std::size_t i = 0; i < N; ++i) {
      if (value <= upper_bounds[i]) {
        ++counts[i];
        break;
      }
    }
    ++count;
    sum += value;
  }
};

/// Events per committed transaction: one when live, up to batch_size x 4 while catching up.
using BatchSizeHistogram = Histogram<8>;
inline BatchSizeHistogram batch_size_histogram() { return {{1, 10, 50, 100, 500, 1000, 5000, 20000}}; }

/// Seconds from a batch's first read to its commit.
using BatchDurationHistogram = Histogram<10>;
inline BatchDurationHistogram batch_duration_histogram() {
  return {{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5}};
}

}  // namespace projectord
