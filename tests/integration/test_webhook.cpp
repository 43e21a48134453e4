// The webhook side effect against a receiver in the test (tests/support/webhook_receiver.hpp), over http and
// https: what it sends, how it signs, how each kind of answer is judged, and how many requests it has out.
#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "handlers/side_effects/webhook.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using projectord::Event;
using projectord::handlers::DeliveryOutcome;
using projectord::handlers::Webhook;
using projectord::testing::ScriptedResponse;
using projectord::testing::WebhookReceiver;
namespace config = projectord::config;
namespace json = boost::json;

namespace {

Event event(int n) {
  Event e;
  e.source = "shop";
  e.position = 40 + n;
  e.stream_id = "user-" + std::to_string(n);
  e.version = 2;
  e.type = "UserRegistered";
  e.recorded_at = "2026-11-23T10:00:00+00:00";
  e.data = json::object{{"email", "u" + std::to_string(n) + "@example.com"}};
  e.metadata = json::object{{"ip", "10.0.0.1"}};
  return e;
}

std::vector<Event> events(int count) {
  std::vector<Event> all;
  for (int n = 1; n <= count; ++n) all.push_back(event(n));
  return all;
}

std::unique_ptr<Webhook> webhook(const std::string& url, const std::string& secret = "",
                                 const std::string& ca_file = "", std::size_t max_in_flight = 16,
                                 std::chrono::milliseconds request_timeout = 10s) {
  config::Handler handler;
  handler.name = "hook";
  handler.kind = "webhook";
  handler.side_effect.url = url;
  handler.side_effect.secret = secret;
  handler.side_effect.ca_file = ca_file;
  handler.side_effect.max_in_flight = max_in_flight;
  handler.side_effect.connect_timeout = 2s;
  handler.side_effect.request_timeout = request_timeout;
  auto made = Webhook::make(handler);
  INFO((made ? std::string() : made.error()));
  REQUIRE(made.has_value());
  return std::move(*made);
}

std::string url(const WebhookReceiver& receiver, const std::string& host = "127.0.0.1",
                const std::string& scheme = "http") {
  return scheme + "://" + host + ":" + std::to_string(receiver.port()) + "/hooks/users?v=1";
}

WebhookReceiver::Responder always(unsigned status) {
  return [status](std::size_t, const auto&) { return ScriptedResponse{status}; };
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("projectord-webhook-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("a webhook POSTs the event as JSON with its idempotency key and a signature the receiver can check") {
  WebhookReceiver receiver(always(204));
  const auto outcomes = webhook(url(receiver), "s3cret")->deliver(events(1));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].kind == DeliveryOutcome::Kind::delivered);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 1);
  const auto& request = requests[0];
  CHECK(request.target == "/hooks/users?v=1");
  CHECK(request.headers.at("content-type") == "application/json");
  CHECK(request.headers.at("idempotency-key") == "shop:41");
  CHECK(json::parse(request.body) ==
        json::parse(R"({"source":"shop","position":41,"stream_id":"user-1","version":2,"type":"UserRegistered",)"
                    R"("recorded_at":"2026-11-23T10:00:00+00:00","data":{"email":"u1@example.com"},)"
                    R"("metadata":{"ip":"10.0.0.1"}})"));
  const std::string timestamp = request.headers.at("x-projectord-timestamp");
  CHECK(std::abs(std::stoll(timestamp) - std::time(nullptr)) < 60);
  // The receiver's side of the scheme: HMAC-SHA256 over "timestamp.body", compared in constant time.
  const std::string expected = projectord::handlers::webhook_signature("s3cret", timestamp, request.body);
  const std::string& got = request.headers.at("x-projectord-signature");
  REQUIRE(got.size() == expected.size());
  CHECK(CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0);
  CHECK(got.starts_with("v1="));
  CHECK(got.size() == 3 + 64);
  CHECK(projectord::handlers::webhook_signature("other", timestamp, request.body) != got);
}

TEST_CASE("a webhook counts four waves of max_in_flight requests as sent together") {
  CHECK(webhook("http://127.0.0.1:9/")->sent_together() == 64);
  CHECK(webhook("http://127.0.0.1:9/", "", "", 2)->sent_together() == 8);
}

TEST_CASE("a 5xx is a retry whose error names the status but not the path or query, and the next call delivers") {
  WebhookReceiver receiver([](std::size_t index, const auto&) { return ScriptedResponse{index == 0 ? 503u : 200u}; });
  auto hook = webhook(url(receiver), "s3cret");
  const auto one = events(1);
  const auto failed = hook->deliver(one)[0];
  CHECK(failed.kind == DeliveryOutcome::Kind::retry);
  CHECK_THAT(failed.error, Catch::Contains("503") && !Catch::Contains("/hooks/users") && !Catch::Contains("v=1"));
  CHECK(hook->deliver(one)[0].kind == DeliveryOutcome::Kind::delivered);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  for (const auto& request : requests) {
    CHECK(request.headers.at("x-projectord-signature") ==
          projectord::handlers::webhook_signature("s3cret", request.headers.at("x-projectord-timestamp"),
                                                  request.body));
  }
}

TEST_CASE("429 and 408 are retried no sooner than Retry-After, other 4xx and 3xx are permanent") {
  SECTION("429 with Retry-After in seconds") {
    WebhookReceiver receiver([](std::size_t, const auto&) { return ScriptedResponse{429, {{"Retry-After", "2"}}}; });
    const auto outcome = webhook(url(receiver))->deliver(events(1))[0];
    CHECK(outcome.kind == DeliveryOutcome::Kind::retry);
    CHECK(outcome.retry_after == 2s);
  }
  SECTION("408 without Retry-After") {
    WebhookReceiver receiver(always(408));
    const auto outcome = webhook(url(receiver))->deliver(events(1))[0];
    CHECK(outcome.kind == DeliveryOutcome::Kind::retry);
    CHECK(outcome.retry_after == 0s);
  }
  SECTION("400") {
    WebhookReceiver receiver(always(400));
    const auto outcome = webhook(url(receiver))->deliver(events(1))[0];
    CHECK(outcome.kind == DeliveryOutcome::Kind::permanent);
    CHECK_THAT(outcome.error, Catch::Contains("400"));
    // Slack- and Discord-style URLs carry their secret in the path: errors name the host only.
    CHECK_THAT(outcome.error, Catch::StartsWith("http://127.0.0.1:" + std::to_string(receiver.port()) + "/... "));
    CHECK_THAT(outcome.error, !Catch::Contains("hooks") && !Catch::Contains("v=1"));
  }
  SECTION("a redirect is not followed") {
    WebhookReceiver receiver([](std::size_t, const auto&) { return ScriptedResponse{302, {{"Location", "/x"}}}; });
    const auto outcome = webhook(url(receiver))->deliver(events(1))[0];
    CHECK(outcome.kind == DeliveryOutcome::Kind::permanent);
    CHECK_THAT(outcome.error, Catch::Contains("redirects are not followed"));
    CHECK(receiver.requests().size() == 1);
  }
}

TEST_CASE("a receiver that never answers, or nobody listening, is a retry") {
  SECTION("no answer within request_timeout") {
    WebhookReceiver receiver(always(200));
    receiver.hold();
    const auto outcome = webhook(url(receiver), "", "", 16, 300ms)->deliver(events(1))[0];
    receiver.release();
    CHECK(outcome.kind == DeliveryOutcome::Kind::retry);
    CHECK_THAT(outcome.error, Catch::Contains("timed out"));
  }
  SECTION("connection refused") {
    unsigned short port = 0;
    { port = WebhookReceiver(always(200)).port(); }  // closed again: nothing listens there now
    const auto outcome = webhook("http://127.0.0.1:" + std::to_string(port) + "/")->deliver(events(1))[0];
    CHECK(outcome.kind == DeliveryOutcome::Kind::retry);
    CHECK_THAT(outcome.error, Catch::Contains("refused"));
  }
}

TEST_CASE("a webhook has at most max_in_flight requests out, and every delivery arrives") {
  WebhookReceiver receiver(always(200));
  receiver.hold();  // answers wait: requests pile up to the limit
  auto hook = webhook(url(receiver), "", "", 4);
  auto delivering = std::async(std::launch::async, [&] { return hook->deliver(events(50)); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (receiver.requests().size() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  receiver.release();
  const auto outcomes = delivering.get();
  CHECK(std::all_of(outcomes.begin(), outcomes.end(),
                    [](const DeliveryOutcome& o) { return o.kind == DeliveryOutcome::Kind::delivered; }));
  std::set<std::string> keys;
  for (const auto& request : receiver.requests()) keys.insert(request.headers.at("idempotency-key"));
  CHECK(keys.size() == 50);
  CHECK(receiver.most_at_once() == 4);  // side by side, never more
}

TEST_CASE("a receiver with a latency answers each request that long after it came, requests side by side") {
  WebhookReceiver receiver(always(200));
  receiver.answer_after(300ms);
  auto hook = webhook(url(receiver), "", "", 4);
  const auto start = std::chrono::steady_clock::now();
  const auto outcomes = hook->deliver(events(8));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(std::all_of(outcomes.begin(), outcomes.end(),
                    [](const DeliveryOutcome& o) { return o.kind == DeliveryOutcome::Kind::delivered; }));
  CHECK(receiver.most_at_once() == 4);  // a latency on one request does not hold up the others
  CHECK(took >= 600ms);                 // 8 requests, 4 at a time: two rounds of the latency at least
}

TEST_CASE("over https the receiver's certificate must chain to a trusted CA and name the host") {
  TempDir dir;
  const auto localhost = projectord::testing::tls_files(dir.path.string(), "localhost");
  WebhookReceiver receiver(always(200), &localhost);
  SECTION("trusted through ca_file, for the name in the URL") {
    const auto outcome = webhook(url(receiver, "localhost", "https"), "", localhost.ca)->deliver(events(1))[0];
    INFO(outcome.error);
    CHECK(outcome.kind == DeliveryOutcome::Kind::delivered);
    CHECK(receiver.requests().size() == 1);
  }
  SECTION("the system's trust store alone does not know the test CA") {
    const auto outcome = webhook(url(receiver, "localhost", "https"))->deliver(events(1))[0];
    CHECK(outcome.kind == DeliveryOutcome::Kind::retry);
    CHECK_THAT(outcome.error, Catch::Contains("certificate verify failed"));
  }
  SECTION("a certificate for another name") {
    std::filesystem::create_directories(dir.path / "other");
    const auto other = projectord::testing::tls_files((dir.path / "other").string(), "other.example");
    WebhookReceiver impostor(always(200), &other);
    const auto outcome = webhook(url(impostor, "localhost", "https"), "", other.ca)->deliver(events(1))[0];
    CHECK(outcome.kind == DeliveryOutcome::Kind::retry);
    CHECK_THAT(outcome.error, Catch::Contains("certificate verify failed"));
    CHECK(impostor.requests().empty());
  }
}

// Beast refuses a header value of 64 KiB or more by throwing: the Idempotency-Key of an event with such an entry
// id cannot be built. That exception must stay an outcome of its event: escaping io.run() would leave the other
// worker's coroutine queued on the io_context, pointing at the returned call's outcomes (a use after free in
// the next call, which address sanitizer reports).
TEST_CASE("an event whose request cannot be built fails alone, and the other deliveries of the call and the next go on") {
  WebhookReceiver receiver(always(200));
  auto hook = webhook(url(receiver), "", "", 2);
  auto batch = events(6);
  batch.front().entry_id = std::string(70000, '7');
  std::vector<DeliveryOutcome> outcomes;
  CHECK_NOTHROW(outcomes = hook->deliver(batch));
  const auto next = hook->deliver(events(3));

  CHECK(std::all_of(next.begin(), next.end(),
                    [](const DeliveryOutcome& o) { return o.kind == DeliveryOutcome::Kind::delivered; }));
  REQUIRE(outcomes.size() == batch.size());
  CHECK(outcomes.front().kind == DeliveryOutcome::Kind::permanent);
  CHECK_THAT(outcomes.front().error, Catch::Contains("too large"));
  CHECK(std::all_of(outcomes.begin() + 1, outcomes.end(),
                    [](const DeliveryOutcome& o) { return o.kind == DeliveryOutcome::Kind::delivered; }));
  CHECK(receiver.requests().size() == 5 + 3);
}
