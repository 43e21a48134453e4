#include "handlers/side_effects/side_effect_handler.hpp"

namespace projectord::handlers {

void SideEffectHandler::apply(pqxx::work& /*txn*/, std::span<const Event> events) {
  std::vector<Event> to_deliver;
  for (const Event& event : events) {
    if (!delivered_.contains(event.position)) to_deliver.push_back(event);
  }
  if (to_deliver.empty()) return;
  const std::vector<DeliveryOutcome> outcomes = effect_->deliver(to_deliver);
  const DeliveryOutcome* first_failure = nullptr;
  const Event* failed_event = nullptr;
  for (std::size_t i = 0; i < to_deliver.size(); ++i) {
    if (outcomes[i].kind == DeliveryOutcome::Kind::delivered) {
      delivered_.insert(to_deliver[i].position);
    } else if (first_failure == nullptr) {
      first_failure = &outcomes[i];
      failed_event = &to_deliver[i];
    }
  }
  if (first_failure == nullptr) return;
  throw DeliveryFailed(name_ + ": " + idempotency_key(*failed_event) + ": " + first_failure->error,
                       first_failure->kind == DeliveryOutcome::Kind::permanent, first_failure->retry_after);
}

void SideEffectHandler::committed(Position position) {
  delivered_.erase(delivered_.begin(), delivered_.upper_bound(position));
}

}  // namespace projectord::handlers
