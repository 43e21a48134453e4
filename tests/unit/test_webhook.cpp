// The webhook's pure parts: the signature a receiver checks and the delay a Retry-After header asks for. What
// it sends and how it judges answers is tested against a receiver in tests/integration/test_webhook.cpp.
#include <catch2/catch.hpp>
#include <chrono>

#include "handlers/side_effects/webhook.hpp"

using namespace std::chrono_literals;

TEST_CASE("the signature is v1= and the hex HMAC-SHA256 of timestamp.body") {
  // python3 -c "import hmac, hashlib; print(hmac.new(b'k', b'1.b', hashlib.sha256).hexdigest())"
  CHECK(projectord::handlers::webhook_signature("k", "1", "b") ==
        "v1=2946e37a45bb02a0bf1bf1a7d9219543801fedd301f9f485aebd72c928639bea");
}

TEST_CASE("Retry-After in seconds or as an HTTP date is a delay, capped at retry_backoff_max") {
  using projectord::handlers::retry_after;
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);  // Tue, 14 Nov 2023 22:13:20 GMT
  CHECK(retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now, 60s) == 30s);
  CHECK(retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now, 60s) == 0s);
  CHECK(retry_after("Tue, 14 Nov 2023 23:13:50 GMT", now, 60s) == 60s);
  CHECK(retry_after("120", now, 600s) == 120s);
  CHECK(retry_after("120", now, 10s) == 10s);
  CHECK(retry_after("99999999999999", now, 10s) == 10s);
  CHECK(retry_after("99999999999999999999999", now, 10s) == 10s);
  CHECK(retry_after("soon", now, 10s) == 0s);
  CHECK(retry_after("", now, 10s) == 0s);
  CHECK(retry_after("-5", now, 10s) == 0s);
  CHECK(retry_after("Tue, 14 Nov 2023 22:13:50 GMT trailing", now, 60s) == 0s);
}
