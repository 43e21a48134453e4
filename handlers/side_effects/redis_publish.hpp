#pragma once
/// The `redis_publish` side effect: each event becomes an entry XADDed to an outgoing stream (trimmed with
/// MAXLEN ~ when configured), all of one batch pipelined on one connection. Its fields are the configured
/// ones ({field = "event path"}; a path that is missing leaves its field out), or by default the whole
/// event: type, stream_id, version, data and metadata (JSON), source, position (a Redis event's entry id),
/// recorded_at, and idempotency_key, by which a consumer recognises a redelivery.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "base/result.hpp"
#include "handlers/event_path.hpp"
#include "handlers/side_effects/redis_sink.hpp"
#include "handlers/side_effects/side_effect.hpp"

namespace projectord::handlers {

class RedisPublish final : public SideEffect {
 public:
  /// From a handler of kind redis_publish; errors name the handler and the bad setting.
  static Result<std::unique_ptr<RedisPublish>> make(const config::Handler& handler);

  std::vector<DeliveryOutcome> deliver(std::span<const Event> events) override;
  std::size_t sent_together() const override { return kRedisCommandsSentTogether; }

 private:
  RedisPublish(std::string stream, std::int64_t maxlen, std::vector<std::pair<std::string, EventPath>> fields,
               std::unique_ptr<RedisSink> sink)
      : stream_(std::move(stream)), maxlen_(maxlen), fields_(std::move(fields)), sink_(std::move(sink)) {}
  /// The XADD of one event; nullopt when no mapped field has a value in it (XADD needs one).
  std::optional<std::vector<std::string>> xadd(const Event& event) const;

  std::string stream_;
  std::int64_t maxlen_;
  std::vector<std::pair<std::string, EventPath>> fields_;  ///< empty: the whole event
  std::unique_ptr<RedisSink> sink_;
};

/// The outcome of one command's reply: delivered, or retried (a lost connection, an error reply such as
/// OOM or WRONGTYPE: a fix on the server side lets it through).
DeliveryOutcome outcome_of(const Result<redis::Reply>& reply);

}  // namespace projectord::handlers
