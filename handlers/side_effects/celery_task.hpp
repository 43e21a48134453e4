#pragma once
/// The `celery` side effect: each event enqueues a named Celery task on a Redis broker in Celery's message
/// protocol v2 (the envelope kombu's Redis transport LPUSHes onto the queue's list), so an
/// existing Python worker runs it. Arguments and keyword arguments are paths into the event, passed as JSON
/// values. The task id is derived from the event's idempotency key (a name-based UUID), so a redelivery
/// carries the same id and a task can recognise it; delivery_tag is fresh per push, as kombu requires.
#include <boost/uuid/random_generator.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "base/result.hpp"
#include "handlers/event_path.hpp"
#include "handlers/side_effects/redis_sink.hpp"
#include "handlers/side_effects/side_effect.hpp"

namespace projectord::handlers {

class CeleryTask final : public SideEffect {
 public:
  /// From a handler of kind celery; errors name the handler and the bad setting.
  static Result<std::unique_ptr<CeleryTask>> make(const config::Handler& handler);

  std::vector<DeliveryOutcome> deliver(std::span<const Event> events) override;
  std::size_t sent_together() const override { return kRedisCommandsSentTogether; }

  /// The JSON message LPUSHed for `event` (exposed for tests).
  std::string message(const Event& event) const;

 private:
  CeleryTask(std::string task, std::string queue, std::vector<EventPath> args,
             std::vector<std::pair<std::string, EventPath>> kwargs, std::unique_ptr<RedisSink> sink);

  std::string task_;
  std::string queue_;
  std::vector<EventPath> args_;
  std::vector<std::pair<std::string, EventPath>> kwargs_;
  std::string origin_;  ///< "projectord@HOSTNAME", as a worker shows it
  std::unique_ptr<RedisSink> sink_;
  mutable boost::uuids::random_generator delivery_tags_;
};

/// The Celery task id of an event: a version 5 UUID of its idempotency key, the same on every delivery.
std::string celery_task_id(const Event& event);

}  // namespace projectord::handlers
