#include "handlers/side_effects/side_effect_handler.hpp"

namespace projectord::handlers {

void SideEffectHandler::apply(pqxx::work& /*txn*/, std::span<const Event> events) {
  std::vector<Event> to_deliver;
  for (const Event& event : events) {
    if (!delivered_.contains(event.position) && !refused_.contains(event.position)) to_deliver.push_back(event);
  }
  const std::vector<DeliveryOutcome> outcomes = to_deliver.empty() ? std::vector<DeliveryOutcome>()
                                                                    : effect_->deliver(to_deliver);
  std::map<Position, const DeliveryOutcome*> failed_now;
  for (std::size_t i = 0; i < to_deliver.size(); ++i) {
    const Position position = to_deliver[i].position;
    if (outcomes[i].kind == DeliveryOutcome::Kind::delivered) {
      delivered_.insert(position);
    } else if (outcomes[i].kind == DeliveryOutcome::Kind::permanent) {
      refused_.emplace(position, outcomes[i]);
    } else {
      failed_now.emplace(position, &outcomes[i]);
    }
  }
  // The first event, in order, that is not delivered fails the call: the lane retries it (or gives up).
  for (const Event& event : events) {
    if (delivered_.contains(event.position)) continue;
    const auto refused = refused_.find(event.position);
    const DeliveryOutcome& failure = refused != refused_.end() ? refused->second : *failed_now.at(event.position);
    throw DeliveryFailed(name_ + ": " + idempotency_key(event) + ": " + failure.error, event.position,
                         failure.kind == DeliveryOutcome::Kind::permanent, failure.retry_after);
  }
}

void SideEffectHandler::committed(Position position) {
  delivered_.erase(delivered_.begin(), delivered_.upper_bound(position));
  refused_.erase(refused_.begin(), refused_.upper_bound(position));
}

}  // namespace projectord::handlers
