#include "daemon/lane/catchup_transaction.hpp"

#include <spdlog/spdlog.h>

#include <malloc.h>

#include <algorithm>
#include <utility>

#include "base/printable.hpp"
#include "daemon/lane/failure.hpp"

namespace projectord {

CatchupTransaction::CatchupTransaction(Lane lane) : lane_(std::move(lane)), folding_(lane_.projection.folding()) {}

CatchupTransaction::Session CatchupTransaction::begin_session(std::function<pqxx::connection&()> target) {
  target_ = std::move(target);
  return Session(*this);
}

void CatchupTransaction::end_session() {
  open_.reset();  // rolls back
  writer_.wait();
  writing_.reset();
  target_ = {};
}

Position CatchupTransaction::read_from() const { return open_ ? open_->to : writing_ ? writing_->to : lane_.position; }

void CatchupTransaction::add(std::vector<SourceRow>& rows, Position to, Clock::time_point read_started) {
  std::vector<Event> batch;
  batch.reserve(rows.size());
  for (SourceRow& row : rows) {
    if (const auto* poison = std::get_if<Undecodable>(&row.content)) return abandon(to, poison->error);
    Event& event = std::get<Event>(row.content);
    if (lane_.types.accepts(event.type)) batch.push_back(std::move(event));
  }
  if (!open_) {
    open_ = Open{folding_ ? nullptr : std::make_unique<pqxx::work>(target_()), read_started, lane_.position, 0, 0};
    if (open_->txn) lane_.session.begin(*open_->txn);
  }
  try {
    if (!batch.empty()) folding_ ? folding_->fold(batch) : lane_.projection.apply(*open_->txn, batch);
  } catch (const std::exception&) {
    const LaneFailure failure = judge_current_exception();
    if (failure.transient()) throw;
    return abandon(to, failure.message);
  }
  open_->to = to;
  open_->events += static_cast<std::int64_t>(batch.size());
}

Step CatchupTransaction::after_read(bool truncated, bool one_read_per_transaction) {
  if (open_) ++open_->reads;
  if (open_ && (!truncated || full(one_read_per_transaction))) {
    if (const Step end = commit(truncated)) return end;
  }
  if (truncated) return std::nullopt;
  if (const Step end = finish_writing()) return end;
  // The folds' memory went back to malloc's free lists, where it would stay for the life of the process.
  if (std::exchange(written_since_caught_up_, false)) malloc_trim(0);
  return std::nullopt;
}

// A folding handler's open fold takes half of its budget at most: the one being written may hold the rest.
bool CatchupTransaction::full(bool one_read_per_transaction) const {
  if (one_read_per_transaction) return true;
  if (folding_) return folding_->folded_bytes() >= folding_->memory_budget() / 2;
  return open_->reads >= kReadsPerTransaction;
}

Step CatchupTransaction::close() {
  if (open_) {
    if (const Step end = commit(false)) return end;
  }
  return finish_writing();
}

// A folding handler's transaction is written in the background; with `overlap` the lane goes on reading
// meanwhile.
Step CatchupTransaction::commit(bool overlap) {
  if (folding_) return write_in_background(overlap);
  try {
    lane_.projection.flush(*open_->txn);
    lane_.checkpoint.advance(*open_->txn, lane_.position, open_->to, open_->events, lane_.source.holes());
    open_->txn->commit();
  } catch (const std::exception&) {
    const LaneFailure failure = judge_current_exception();
    if (failure.transient()) throw;
    abandon(open_->to, failure.message);
    return std::nullopt;
  }
  lane_.committed(open_->to, open_->events, open_->started);
  open_.reset();
  return std::nullopt;
}

// The previous write has committed before this one begins, so commits keep the order of the reads.
Step CatchupTransaction::write_in_background(bool overlap) {
  if (const Step end = finish_writing()) return end;
  writing_ = Writing{folding_->seal(), open_->to, open_->events, open_->started};
  written_since_caught_up_ = true;
  writer_.start([&target = target_(), &checkpoint = lane_.checkpoint, &session = lane_.session,
                 sealed = writing_->sealed.get(), from = lane_.position, to = open_->to, events = open_->events,
                 holes = lane_.source.holes()] {
    pqxx::work txn(target);
    session.begin(txn);
    sealed->write(txn);
    checkpoint.advance(txn, from, to, events, holes);
    txn.commit();
  });
  open_.reset();
  if (!overlap) return finish_writing();
  return std::nullopt;
}

Step CatchupTransaction::finish_writing() {
  if (!writing_) return std::nullopt;
  const std::exception_ptr failed = writer_.wait();
  const Writing writing = std::move(*writing_);
  writing_.reset();
  if (failed) {
    try {
      std::rethrow_exception(failed);
    } catch (const std::exception&) {
      const LaneFailure failure = judge_current_exception();
      if (failure.transient()) throw;
      replay_carefully(writing.to, failure.message);
      return SessionEnd::rewind;
    }
  }
  lane_.committed(writing.to, writing.events, writing.started);
  return std::nullopt;
}

void CatchupTransaction::abandon(Position to, const std::string& error) {
  open_.reset();  // rolls back
  replay_carefully(to, error);
}

// Up to `to`, the range after the checkpoint is replayed one chunk per transaction, where poison events are
// isolated.
void CatchupTransaction::replay_carefully(Position to, const std::string& error) {
  careful_until_ = std::max(careful_until_, to);
  spdlog::warn("handler={} event=batch_failed from={} to={} retrying=small_transactions error={}", lane_.handler,
               lane_.position, to, log_value(error));
  lane_.projection.discard();
}

}  // namespace projectord
