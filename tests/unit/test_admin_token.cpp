#include <catch2/catch.hpp>

#include "daemon/http/endpoints.hpp"

TEST_CASE("the admin token compare is equal only for the same bytes and length") {
  using projectord::http::constant_time_equal;
  CHECK(constant_time_equal("s3cret", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cret", "s3cre"));
  CHECK_FALSE(constant_time_equal("s3cre", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cret", "s3creT"));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK(constant_time_equal("", ""));
}
