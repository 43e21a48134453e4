#pragma once
/// A side effect delivers events to the world outside the read-model database (an HTTP endpoint, a Celery
/// queue, a Redis stream). Delivery is at least once: the caller moves the handler's checkpoint only after
/// `deliver` reported an event delivered, so a crash in between delivers it again. Receivers deduplicate
/// with the idempotency key, which is the same on every attempt.
///
/// `deliver` runs on the handler's own thread and may block; it may deliver the events of one call
/// concurrently (bounded by its own settings) and must return only when every event has an outcome.
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "base/event.hpp"

namespace projectord::handlers {

struct DeliveryOutcome {
  enum class Kind {
    delivered,  ///< the receiver took it
    retry,      ///< failed for now (timeout, 5xx, 408/429, connection refused): try again after a backoff
    permanent,  ///< will never succeed as it is (4xx, an unmappable event): no retries, on_error applies
  };
  Kind kind = Kind::delivered;
  std::string error;                         ///< what went wrong, for logs and dead letters (never secrets)
  std::chrono::milliseconds retry_after{0};  ///< the receiver asked for at least this delay (Retry-After)
};

class SideEffect {
 public:
  virtual ~SideEffect() = default;
  /// One outcome per event, in the same order.
  virtual std::vector<DeliveryOutcome> deliver(std::span<const Event> events) = 0;
  /// How many events `deliver` sends at about the same time. The handler records an attempt for that many
  /// before it sends them (SideEffectHandler), so a process killed in the middle of a long call has charged
  /// an attempt to few events it never sent.
  virtual std::size_t sent_together() const = 0;
};

/// The idempotency key of an event: "SOURCE:POSITION" (a Redis-fed source's position is its entry id).
std::string idempotency_key(const Event& event);

}  // namespace projectord::handlers
