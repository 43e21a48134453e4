#include <catch2/catch.hpp>

#include "base/histogram.hpp"

TEST_CASE("a histogram value lands in the first bucket whose bound holds it, beyond the last only in count") {
  auto histogram = projectord::batch_size_histogram();
  histogram.observe(1);
  histogram.observe(7);
  histogram.observe(5000);
  histogram.observe(1'000'000);
  CHECK(histogram.counts[0] == 1);
  CHECK(histogram.counts[1] == 1);
  CHECK(histogram.counts[6] == 1);
  CHECK(histogram.count == 4);
  CHECK(histogram.sum == Approx(1'005'008));
}
