#include "sources/redis/range_source.hpp"

#include <optional>
#include <stdexcept>

#include "base/stoppable_sleep.hpp"

namespace projectord {

namespace {

template <class T>
T must(Result<T> result) {
  if (!result) throw std::runtime_error(result.error());
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// Why entries after `from` may be gone, or nothing. XDEL raises max_deleted; trimming (XTRIM, XADD MAXLEN)
// only shows as fewer entries than were ever added, all of them below the first one left, so entries
// between `from` and that first one may have been trimmed.
std::optional<std::string> missing_after(const sources::StreamInfo& info, sources::StreamEntryId from) {
  if (info.max_deleted && *info.max_deleted > from) return "entries up to " + info.max_deleted->text() + " were deleted";
  if (info.entries_added > info.length && (!info.first || *info.first > from)) {
    return std::to_string(info.entries_added - info.length) + " of its " + std::to_string(info.entries_added) +
           " entries were trimmed or deleted, and the first left is " + (info.first ? info.first->text() : "none");
  }
  return std::nullopt;
}

}  // namespace

// The reader's group and consumer are never used: a range read belongs to no group.
RedisRangeSource::RedisRangeSource(config::RedisSource source)
    : source_(std::move(source)), reader_(source_, std::string(), std::string()) {}

void RedisRangeSource::open(const std::string& /*session_name*/, checkpoints::HoleDeadlines /*holes*/) {
  must(reader_.connect(sources::RedisStreamReader::kConnectTimeout));
  checked_ = false;
  read_past_.reset();
}

SourceBatch RedisRangeSource::read(Position after, std::size_t limit, std::stop_token /*stop*/) {
  const auto from = sources::StreamEntryId::from_position(after);
  if (!checked_) {
    // Checked at the first read of a session, when the checkpoint is known.
    const sources::StreamInfo info = must(reader_.info());
    if (const auto gone = missing_after(info, from)) {
      throw SourceRefused("stream " + source_.stream + " of source " + source_.name +
                        " no longer holds every entry after " + from.text() + " (" + *gone +
                        "): a rebuild would build a partial read model");
    }
    checked_ = true;
  }
  const bool goes_on = read_past_ && after == read_to_;
  std::vector<sources::StreamEntry> entries = must(reader_.range_after(goes_on ? *read_past_ : from, limit));
  SourceBatch batch;
  batch.truncated = entries.size() == limit;
  batch.rows = stream_rows(source_, entries, after);
  batch.to = batch.rows.empty() ? after : std::max(after, batch.rows.back().position);
  if (!entries.empty()) {
    read_past_ = entries.back().id;
    read_to_ = batch.to;
  }
  batch.head = std::max(stream_head(reader_), batch.to);
  return batch;
}

void RedisRangeSource::wait(bool /*blocked*/, std::stop_token stop) {
  sleep_unless_stopped(source_.block, stop);
}

std::optional<SourceRow> RedisRangeSource::read_at(Position position) { return stream_row_at(source_, reader_, position); }

std::vector<SourceRow> RedisRangeSource::late_rows(bool& holes_changed) {
  holes_changed = false;
  return {};
}

}  // namespace projectord
