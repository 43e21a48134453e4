#include "daemon/lane/dead_letter_requests.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/transaction>
#include <span>

#include "base/printable.hpp"
#include "checkpoints/dead_letters.hpp"
#include "daemon/lane/failure.hpp"

namespace projectord {

void DeadLetterRequests::add(DeadLetterAction action, std::optional<std::int64_t> id) {
  std::lock_guard lock(mutex_);
  requests_.push_back({action, id});
}

std::vector<DeadLetterRequests::Request> DeadLetterRequests::take() {
  std::vector<Request> taken;
  std::lock_guard lock(mutex_);
  taken.swap(requests_);
  return taken;
}

bool DeadLetterRequests::empty() const {
  std::lock_guard lock(mutex_);
  return requests_.empty();
}

namespace {

void retry_letter(const DeadLetterDesk& desk, pqxx::connection& target, const checkpoints::StoredLetter& letter) {
  std::optional<SourceRow> row = desk.source.read_at(letter.position);
  std::string error = "the source no longer holds it";
  if (row) {
    if (const auto* poison = std::get_if<Undecodable>(&row->content)) {
      error = poison->error;
    } else {
      const Event event = std::move(std::get<Event>(row->content));
      try {
        pqxx::work txn(target);
        if (desk.types.accepts(event.type)) desk.projection.apply(txn, std::span(&event, 1));
        desk.projection.flush(txn);
        checkpoints::remove_dead_letter(txn, letter.id);
        txn.commit();
        spdlog::info("handler={} event=dead_letter_retried position={} outcome=applied", desk.handler,
                     letter.position);
        return;
      } catch (const std::exception&) {
        desk.projection.discard();
        LaneFailure failure = judge_current_exception();
        if (failure.transient()) throw;
        error = std::move(failure.message);
      }
    }
  }
  spdlog::error("handler={} event=dead_letter_retried position={} outcome=failed error={}", desk.handler,
                letter.position, log_value(error));
  pqxx::work txn(target);
  checkpoints::retry_failed(txn, letter.id, error);
  txn.commit();
}

}  // namespace

void serve(const DeadLetterDesk& desk, pqxx::connection& target, const std::vector<DeadLetterRequests::Request>& requests) {
  for (const DeadLetterRequests::Request& request : requests) {
    for (const checkpoints::StoredLetter& letter : checkpoints::dead_letters_of(target, desk.handler, request.id)) {
      if (request.action == DeadLetterAction::drop) {
        pqxx::work txn(target);
        checkpoints::remove_dead_letter(txn, letter.id);
        txn.commit();
        spdlog::warn("handler={} event=dead_letter_dropped position={}", desk.handler, letter.position);
        continue;
      }
      retry_letter(desk, target, letter);
    }
  }
}

}  // namespace projectord
