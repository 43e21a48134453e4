#include "sources/redis/group_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "base/printable.hpp"
#include "base/stoppable_sleep.hpp"

namespace projectord {

namespace {

// How often the stream's head and the group's lag are asked for while nothing says the lane is behind.
constexpr auto kInfoInterval = std::chrono::seconds(1);
// How often a source waiting for another consumer's entry looks again.
constexpr auto kBlockedPoll = config::Duration(100);

}  // namespace

RedisGroupSource::RedisGroupSource(config::RedisSource source, const std::string& handler, const Clock& clock)
    : source_(std::move(source)),
      group_(source_.group + ":" + handler),
      consumer_(source_.consumer.empty() ? default_consumer_name() : source_.consumer),
      clock_(clock),
      reader_(source_, group_, consumer_) {}

// A failed Redis call ends the session: the lane logs it, backs off and opens the source again.
template <class T>
T RedisGroupSource::must(Result<T> result) const {
  if (!result) throw std::runtime_error(result.error());
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

void RedisGroupSource::open(const std::string& /*session_name*/, checkpoints::HoleDeadlines /*holes*/) {
  must(reader_.connect(sources::RedisStreamReader::kConnectTimeout));
  must(reader_.ensure_group());
  sole_owner_ = false;
  pending_done_ = false;
  pending_cursor_ = {};
  unacked_.clear();
  next_claim_ = {};
  next_forget_ = {};
  next_info_ = {};
  spdlog::info("source={} event=stream_opened stream={} group={} consumer={}", source_.name,
               log_value(source_.stream), log_value(group_), log_value(consumer_));
}

void RedisGroupSource::take_over(Position after) {
  if (const std::size_t taken = must(reader_.claim_pending_elsewhere())) {
    spdlog::warn("source={} event=claimed entries={} group={} reason=\"previous owner\"", source_.name, taken,
                 log_value(group_));
    // Entries up to `after` are this session's own, read and in the lane's hands: the re-read goes on above.
    if (pending_done_) {
      pending_done_ = false;
      pending_cursor_ = sources::StreamEntryId::from_position(after);
    }
  }
  const auto now = clock_.now();
  if (now < next_forget_) return;
  next_forget_ = now + claim_interval();
  for (const std::string& consumer : must(reader_.forget_idle_consumers(source_.claim_idle))) {
    spdlog::info("source={} event=consumer_deleted group={} consumer={}", source_.name, log_value(group_),
                 log_value(consumer));
  }
}

Clock::duration RedisGroupSource::claim_interval() const {
  return std::max<Clock::duration>(source_.claim_idle / 4, std::chrono::milliseconds(100));
}

std::vector<sources::StreamEntry> RedisGroupSource::next_entries(Position after, std::size_t limit,
                                                                std::stop_token stop, bool& blocked,
                                                                bool& from_new) {
  // 1. Sole owner: what earlier owners read and never acknowledged joins this consumer's pending entries.
  if (sole_owner_) take_over(after);
  // 2. What this consumer read before and never acknowledged (a crash, a lost XACK), or took over.
  if (!pending_done_) {
    auto entries = must(reader_.read_pending(pending_cursor_, limit));
    if (!entries.empty()) {
      pending_cursor_ = entries.back().id;
      return entries;
    }
    pending_done_ = true;
  }
  if (!sole_owner_) {
    // 3. What another consumer of this handler read and left idle for claim_idle: it died.
    const auto now = clock_.now();
    if (now >= next_claim_) {
      next_claim_ = now + claim_interval();
      auto claimed = must(reader_.claim_idle(source_.claim_idle, limit));
      if (!claimed.empty()) {
        spdlog::warn("source={} event=claimed entries={} from={} group={}", source_.name, claimed.size(),
                     claimed.front().id.text(), log_value(group_));
        std::ranges::sort(claimed, {}, &sources::StreamEntry::id);
        return claimed;
      }
    }
    // 4. New entries, unless a lower one is still pending on another consumer.
    const auto waiting = must(reader_.oldest_pending_elsewhere(sources::StreamEntryId::from_position(after)));
    if (waiting) {
      spdlog::debug("source={} event=waiting_for_consumer consumer={} entry={}", source_.name,
                    log_value(waiting->consumer), waiting->id.text());
      blocked = true;
      return {};
    }
  }
  std::stop_callback interrupt_on_stop(stop, [this] { reader_.interrupt(); });
  from_new = true;
  return must(reader_.read_new(limit, source_.block));
}

SourceBatch RedisGroupSource::read(Position after, std::size_t limit, std::stop_token stop) {
  SourceBatch batch;
  bool from_new = false;
  std::vector<sources::StreamEntry> entries = next_entries(after, limit, stop, batch.blocked, from_new);
  batch.waits_for = SourceBatch::Wait::other_reader;
  // Pending or claimed entries are never the whole story: new ones may wait behind them.
  batch.truncated = entries.size() == limit || (!from_new && !entries.empty());

  // Entries the checkpoint covers were applied before: acknowledge them again, apply them never.
  std::vector<sources::StreamEntryId> applied_before;
  std::erase_if(entries, [&](const sources::StreamEntry& entry) {
    const auto position = entry.id.position();
    if (!position || *position > after) return false;
    applied_before.push_back(entry.id);
    return true;
  });
  if (!applied_before.empty()) {
    spdlog::info("source={} event=redelivered_skipped entries={} checkpoint={}", source_.name, applied_before.size(),
                 sources::StreamEntryId::from_position(after).text());
    must(reader_.ack(applied_before));
  }

  batch.rows = stream_rows(source_, entries, after);
  for (std::size_t i = 0; i < entries.size(); ++i) unacked_.emplace_back(batch.rows[i].position, entries[i].id);
  batch.to = batch.rows.empty() ? after : std::max(after, batch.rows.back().position);

  // The stream's true head, not the highest ever seen, so that a stream created anew under the checkpoint
  // shows within kInfoInterval; asked at that pace, not every read, off the live path's round trips.
  const auto now = clock_.now();
  if (batch.truncated || now >= next_info_) {
    next_info_ = now + kInfoInterval;
    head_ = stream_head(reader_);
    undelivered_ = must(reader_.group_lag());
  }
  if (!batch.rows.empty()) head_ = std::max(head_, batch.rows.back().position);
  batch.head = head_;
  return batch;
}

Source::Diagnostics RedisGroupSource::diagnostics() const {
  Diagnostics diagnostics;
  // What the group has not delivered, and what this lane read and has not committed yet.
  if (undelivered_) diagnostics.lag_events = *undelivered_ + static_cast<std::int64_t>(unacked_.size());
  return diagnostics;
}

void RedisGroupSource::committed(Position to) {
  const auto covered = std::ranges::find_if(unacked_, [&](const auto& entry) { return entry.first > to; });
  if (covered == unacked_.begin()) return;
  std::vector<sources::StreamEntryId> ids;
  ids.reserve(static_cast<std::size_t>(covered - unacked_.begin()));
  for (auto it = unacked_.begin(); it != covered; ++it) ids.push_back(it->second);
  unacked_.erase(unacked_.begin(), covered);
  // A lost XACK costs nothing but a redelivery, which the checkpoint skips: no reason to fail the commit.
  if (const auto acked = reader_.ack(ids); !acked) {
    spdlog::warn("source={} event=ack_failed entries={} error={}", source_.name, ids.size(), log_value(acked.error()));
  }
}

// The group delivers again what lies above the new checkpoint, acknowledged before or not.
void RedisGroupSource::checkpoint_reset(Position to) {
  must(reader_.set_group_id(sources::StreamEntryId::from_position(to)));
  unacked_.clear();
}

// Reads block on their own; only a source waiting for another consumer's entry sleeps between reads.
void RedisGroupSource::wait(bool blocked, std::stop_token stop) {
  if (!blocked) return;
  sleep_unless_stopped(std::min(source_.block, kBlockedPoll), stop);
}

std::optional<SourceRow> RedisGroupSource::read_at(Position position) { return stream_row_at(source_, reader_, position); }

std::vector<SourceRow> RedisGroupSource::late_rows(bool& holes_changed) {
  holes_changed = false;
  return {};
}

}  // namespace projectord
