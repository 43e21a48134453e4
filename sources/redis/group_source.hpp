#pragma once
/// A Redis stream read through a consumer group, as a live lane's source.
///
/// Each handler reads in a group of its own, GROUP:HANDLER, so that every handler sees every entry. A
/// session first re-reads this consumer's pending entries (read before a crash, never acknowledged), then
/// entries idle too long on other consumers (XAUTOCLAIM: a consumer that died), then new ones, blocking on
/// the source's own connection. Entries are acknowledged only after the transaction that applied them
/// committed. The checkpoint holds the last applied entry's position: an entry at or below it (its XACK
/// was lost) is acknowledged and skipped, never applied twice.
///
/// Order: the checkpoint is one position, so no entry may be applied while a lower one is still pending
/// on another consumer (another process running this handler, alive or dead). The source then waits,
/// blocked, until that entry is acknowledged or idle long enough to claim.
///
/// Sole owner (Source::sole_owner): the other consumers are previous owners of the handler, so nothing is
/// left to wait for. Everything pending on them becomes this consumer's at once (XCLAIM at idle 0) and is
/// re-read in id order with its own pending entries, before any new entry; no claim_idle, no blocking. Those
/// that hold nothing and have been idle for claim_idle are deleted from the group.
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "base/clock.hpp"
#include "sources/source.hpp"
#include "sources/redis/stream_reader.hpp"
#include "sources/redis/stream_rows.hpp"

namespace projectord {

class RedisGroupSource final : public Source {
 public:
  RedisGroupSource(config::RedisSource source, const std::string& handler, const Clock& clock);

  void open(const std::string& session_name, checkpoints::HoleDeadlines holes) override;
  SourceBatch read(Position after, std::size_t limit, std::stop_token stop) override;
  void sole_owner() override { sole_owner_ = true; }
  void wait(bool blocked, std::stop_token stop) override;
  void wake() override { reader_.interrupt(); }
  void committed(Position to) override;
  void checkpoint_reset(Position to) override;
  std::vector<SourceRow> late_rows(bool& holes_changed) override;
  std::optional<SourceRow> read_at(Position position) override;
  Position head() override { return stream_head(reader_); }
  RowAt row_at(Position position) override { return stream_row_fingerprint(source_, reader_, position); }
  const checkpoints::HoleDeadlines& holes() const override { return no_holes_; }
  bool written_since_last_asked() override { return false; }
  Diagnostics diagnostics() const override;
  const std::string& name() const override { return source_.name; }
  std::size_t batch_size() const override { return source_.batch_size; }

  const std::string& group() const { return group_; }
  const std::string& consumer() const { return consumer_; }

 private:
  /// `from_new`: the entries are new ones (not pending or claimed).
  std::vector<sources::StreamEntry> next_entries(Position after, std::size_t limit, std::stop_token stop,
                                                 bool& blocked, bool& from_new);
  /// Sole owner: takes over what other consumers hold, to be re-read above `after`, and deletes idle ones.
  void take_over(Position after);
  /// How often other consumers are looked at: claim_idle / 4, at least 100 ms.
  Clock::duration claim_interval() const;
  template <class T>
  T must(Result<T> result) const;

  config::RedisSource source_;
  std::string group_;
  std::string consumer_;
  const Clock& clock_;
  sources::RedisStreamReader reader_;
  bool sole_owner_ = false;           ///< this session's lane holds the handler alone
  bool pending_done_ = false;         ///< this session has re-read its pending entries
  sources::StreamEntryId pending_cursor_{};  ///< where the pending re-read goes on
  Clock::time_point next_claim_{};    ///< when idle entries of other consumers are looked for next
  Clock::time_point next_forget_{};   ///< sole owner: when idle consumers are looked for next
  Clock::time_point next_info_{};     ///< when the stream's head and the group's lag are asked for next
  Position head_ = 0;                 ///< the stream's head when last asked, or the last entry read above it
  std::optional<std::int64_t> undelivered_;  ///< the group's lag when last asked
  /// Entries read and not yet acknowledged, in order: acknowledged once a commit covers their position.
  std::vector<std::pair<Position, sources::StreamEntryId>> unacked_;
  checkpoints::HoleDeadlines no_holes_;
};

}  // namespace projectord
