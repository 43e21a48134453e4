#pragma once
/// The `webhook` side effect: each event is POSTed as JSON to a URL, over http or https (certificate and
/// host-name verification by OpenSSL), up to max_in_flight requests at once on kept-alive connections.
///
/// Body: {"source", "position", "entry_id" (Redis events only), "stream_id", "version", "type",
/// "recorded_at", "data", "metadata"}. Headers: `Idempotency-Key: SOURCE:POSITION` (the same on every
/// attempt: receivers deduplicate by it) and, with a secret, `X-Projectord-Timestamp: T` (unix seconds) and
/// `X-Projectord-Signature: v1=HEX`, where HEX is the lowercase hex HMAC-SHA256 of "T.BODY" keyed with the
/// secret. A receiver recomputes it and compares in constant time, and refuses old timestamps.
///
/// Outcomes: 2xx delivered; 5xx, timeouts, refused or broken connections, failed TLS verification: retry;
/// 408 and 429: retry, no sooner than Retry-After (seconds or an HTTP date); any other 4xx and 3xx (no
/// redirect is followed): permanent. Errors name the URL without its query or credentials.
#include <chrono>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "base/result.hpp"
#include "handlers/side_effects/side_effect.hpp"

namespace projectord::handlers {

class Webhook final : public SideEffect {
 public:
  /// From a handler of kind webhook; errors name the handler and the bad setting.
  static Result<std::unique_ptr<Webhook>> make(const config::Handler& handler);
  ~Webhook() override;

  std::vector<DeliveryOutcome> deliver(std::span<const Event> events) override;
  /// A few waves of max_in_flight requests.
  std::size_t sent_together() const override;

 private:
  struct State;
  explicit Webhook(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// The signature header's value for `body` sent at `timestamp` (unix seconds): "v1=" + hex HMAC-SHA256.
std::string webhook_signature(const std::string& secret, const std::string& timestamp, const std::string& body);

/// A Retry-After value (delay-seconds or an HTTP date) as a delay from `now`, at most `cap` (the handler's
/// retry_backoff_max: a receiver cannot park a lane for longer than its own backoff would); zero when absent
/// or unreadable.
std::chrono::milliseconds retry_after(std::string_view value, std::chrono::system_clock::time_point now,
                                      std::chrono::milliseconds cap);

}  // namespace projectord::handlers
