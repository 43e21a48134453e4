#include "daemon/lane/rewind_guard.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/backoff.hpp"
#include "base/printable.hpp"
#include "sources/row_fingerprint.hpp"

namespace projectord {

namespace {

// A rewound store comes back by an operator's hand: looked at again every few seconds, not hammered.
constexpr auto kFirstRecheck = std::chrono::seconds(1);
constexpr auto kMaxRecheck = std::chrono::seconds(30);

}  // namespace

std::optional<std::string> rewound_because(Position checkpoint, Position head,
                                           const std::optional<checkpoints::RowMark>& mark,
                                           const std::optional<RowAt>& found) {
  if (head < checkpoint) {
    return fmt::format("the source's head {} is below the checkpoint {}: the store went backwards (emptied, or "
                       "restored from an older backup); rebuild the handler or reset its checkpoint",
                       head, checkpoint);
  }
  if (!mark || !found || found->found == RowAt::Found::retired) return std::nullopt;
  if (found->found == RowAt::Found::missing) {
    return fmt::format("the row at position {} that the checkpoint {} ended on is gone (head {}): the store was "
                       "replaced under the checkpoint; rebuild the handler or reset its checkpoint",
                       mark->position, checkpoint, head);
  }
  if (found->fingerprint != mark->fingerprint) {
    return fmt::format("the row at position {} that the checkpoint {} ended on has another stream id, version or "
                       "type (head {}): the store was replaced under the checkpoint; rebuild the handler or reset "
                       "its checkpoint",
                       mark->position, checkpoint, head);
  }
  return std::nullopt;
}

RewindGuard::RewindGuard(std::string handler, Source& source, const checkpoints::CheckpointStore& checkpoint,
                         StatusBoard& board)
    : handler_(std::move(handler)), source_(source), checkpoint_(checkpoint), board_(board) {}

bool RewindGuard::start(pqxx::connection& target, const checkpoints::Checkpoint& loaded, std::stop_token stop) {
  mark_ = loaded.mark;
  seen_.reset();
  const std::optional<std::string> reason = judge(loaded.position);
  return !reason || hold(target, loaded.position, *reason, stop);
}

std::optional<std::string> RewindGuard::judge(Position checkpoint) {
  const Position head = source_.head();
  board_.update([&](LaneStatus& s) { s.head = head; });
  std::optional<RowAt> found;
  if (head >= checkpoint && mark_) found = source_.row_at(mark_->position);
  return rewound_because(checkpoint, head, mark_, found);
}

bool RewindGuard::hold(pqxx::connection& target, Position checkpoint, const std::string& reason,
                       std::stop_token stop) {
  spdlog::error("handler={} source={} event=source_rewound checkpoint={} error={}", handler_, source_.name(),
                checkpoint, log_value(reason));
  board_.update([&](LaneStatus& s) {
    s.last_error = reason;
    s.busy_since.reset();
  });
  board_.set_state(LaneState::source_rewound, checkpoint);
  Backoff recheck(kFirstRecheck, kMaxRecheck);
  while (!stop.stop_requested()) {
    const std::uint64_t seen = reset_wake_.generation();
    if (serve_reset(target)) return false;
    reset_wake_.wait(seen, recheck.next(), stop);
    if (stop.stop_requested() || reset_requested()) continue;
    if (!judge(checkpoint)) {
      spdlog::warn("handler={} source={} event=source_back checkpoint={}", handler_, source_.name(), checkpoint);
      board_.update([&](LaneStatus& s) { s.last_error.clear(); });
      board_.set_state(LaneState::starting, checkpoint);
      return true;
    }
  }
  return false;
}

bool RewindGuard::went_back(const SourceBatch& batch, Position after) {
  if (!batch.rows.empty()) {
    seen_ = checkpoints::RowMark{batch.rows.back().position, row_fingerprint(batch.rows.back())};
  }
  return batch.head < after;
}

void RewindGuard::note_mark(pqxx::connection& target, Position checkpoint, Clock::time_point now) {
  if (!seen_ || seen_ == mark_ || seen_->position > checkpoint) return;
  if (mark_ && now - marked_at_ < kMarkInterval) return;
  checkpoint_.mark(target, *seen_);
  mark_ = seen_;
  marked_at_ = now;
}

void RewindGuard::request_reset(Position to, std::string origin) {
  {
    std::lock_guard lock(mutex_);
    reset_ = Reset{to, std::move(origin)};
  }
  reset_wake_.notify();
}

bool RewindGuard::reset_requested() const {
  std::lock_guard lock(mutex_);
  return reset_.has_value();
}

bool RewindGuard::serve_reset(pqxx::connection& target) {
  std::optional<Reset> reset;
  {
    std::lock_guard lock(mutex_);
    reset.swap(reset_);
  }
  if (!reset) return false;
  const Position head = source_.head();
  if (reset->to > head) {
    const std::string refused =
        fmt::format("reset-checkpoint to {} refused: the source's head is {}", reset->to, head);
    spdlog::error("handler={} event=checkpoint_reset_refused to={} head={} origin={}", handler_, reset->to, head,
                  log_value(reset->origin));
    board_.update([&](LaneStatus& s) { s.last_error = refused; });
    return false;
  }
  checkpoint_.reset(target, reset->to);
  source_.checkpoint_reset(reset->to);
  spdlog::warn("handler={} source={} event=checkpoint_reset to={} head={} origin={}", handler_, source_.name(),
               reset->to, head, log_value(reset->origin));
  board_.update([&](LaneStatus& s) { s.last_error.clear(); });
  board_.set_state(LaneState::starting, reset->to);
  return true;
}

}  // namespace projectord
