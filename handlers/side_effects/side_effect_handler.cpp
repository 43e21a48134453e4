#include "handlers/side_effects/side_effect_handler.hpp"

#include <algorithm>

namespace projectord::handlers {

void SideEffectHandler::count_attempts_in(AttemptLog& log) {
  log_ = &log;
  recorded_ = log.recorded();
}

int SideEffectHandler::recorded_attempts(Position position) const {
  int attempts = 0;
  for (const auto& [range, count] : recorded_) {
    if (range.contains(position)) attempts += count;
  }
  return attempts;
}

void SideEffectHandler::record_attempts(std::span<const Event> events, std::span<const Event> to_deliver) {
  if (log_ == nullptr) return;
  std::vector<PositionRange> runs;
  auto next = to_deliver.begin();
  bool in_run = false;
  for (const Event& event : events) {
    const bool sent = next != to_deliver.end() && next->position == event.position;
    if (sent) {
      if (in_run) {
        runs.back().last = event.position;
      } else {
        runs.push_back({event.position, event.position});
      }
      ++next;
    }
    in_run = sent;
  }
  log_->record(runs);
  for (const PositionRange& run : runs) ++recorded_[run];
}

void SideEffectHandler::apply(pqxx::work& /*txn*/, std::span<const Event> events) {
  std::vector<Event> to_deliver;
  for (const Event& event : events) {
    const Position position = event.position;
    if (delivered_.contains(position) || refused_.contains(position) || failed_in_batch_.contains(position)) continue;
    if (const int used = recorded_attempts(position); used >= max_attempts_) {
      // Attempts of earlier sessions (a process killed after sending) count: this one sends no more.
      refused_.emplace(position, DeliveryOutcome{DeliveryOutcome::Kind::permanent,
                                                 "no attempt left: " + std::to_string(used) +
                                                     " recorded, max_attempts = " + std::to_string(max_attempts_)});
      continue;
    }
    to_deliver.push_back(event);
  }
  std::map<Position, DeliveryOutcome> failed_now;
  // A record covers no more than the side effect sends at about the same time: a process killed while a part's
  // deliveries are out has charged an attempt to those of them not sent yet, and an event must not pile up
  // attempts it never had while kills keep its checkpoint back.
  const std::size_t per_record = std::max<std::size_t>(effect_->sent_together(), 1);
  for (std::size_t from = 0; from < to_deliver.size(); from += per_record) {
    const std::span<const Event> part =
        std::span<const Event>(to_deliver).subspan(from, std::min(per_record, to_deliver.size() - from));
    record_attempts(events, part);
    const std::vector<DeliveryOutcome> outcomes = effect_->deliver(part);
    for (std::size_t i = 0; i < part.size(); ++i) {
      const Position position = part[i].position;
      if (outcomes[i].kind == DeliveryOutcome::Kind::delivered) {
        delivered_.insert(position);
      } else if (outcomes[i].kind == DeliveryOutcome::Kind::permanent) {
        refused_.emplace(position, outcomes[i]);
      } else {
        failed_now.emplace(position, outcomes[i]);
      }
    }
  }
  // The lane replays a failed batch event by event; this try was the first attempt at what it failed to send.
  if (events.size() > 1) failed_in_batch_.insert(failed_now.begin(), failed_now.end());
  // The first event, in order, that is not delivered fails the call: the lane retries it (or gives up).
  for (const Event& event : events) {
    if (delivered_.contains(event.position)) continue;
    DeliveryOutcome failure;
    if (const auto refused = refused_.find(event.position); refused != refused_.end()) {
      failure = refused->second;
    } else if (const auto now = failed_now.find(event.position); now != failed_now.end()) {
      failure = now->second;
    } else if (events.size() == 1) {
      // The replay's first attempt at an event its batch failed to send: that failure, reported instead of
      // a second delivery, so that max_attempts bounds what the receiver gets.
      failure = failed_in_batch_.extract(event.position).mapped();
    } else {
      failure = failed_in_batch_.at(event.position);  // a batch again (a new session): the replay reports it
    }
    throw DeliveryFailed(name_ + ": " + idempotency_key(event) + ": " + failure.error,
                         failure.kind == DeliveryOutcome::Kind::permanent, failure.retry_after);
  }
}

void SideEffectHandler::committed(Position position) {
  delivered_.erase(delivered_.begin(), delivered_.upper_bound(position));
  refused_.erase(refused_.begin(), refused_.upper_bound(position));
  failed_in_batch_.erase(failed_in_batch_.begin(), failed_in_batch_.upper_bound(position));
  std::erase_if(recorded_, [&](const auto& entry) { return entry.first.last <= position; });
}

}  // namespace projectord::handlers
