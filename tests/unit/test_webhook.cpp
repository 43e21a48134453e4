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

TEST_CASE("Retry-After as an HTTP date is the delay until then") {
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);  // Tue, 14 Nov 2023 22:13:20 GMT
  CHECK(projectord::handlers::retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now) == 30s);
  CHECK(projectord::handlers::retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now) == 0s);
  CHECK(projectord::handlers::retry_after("120", now) == 120s);
  CHECK(projectord::handlers::retry_after("soon", now) == 0s);
}
