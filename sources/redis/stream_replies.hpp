#pragma once
/// What Redis answers to the stream commands a consumer group reader sends, as owned values, and the
/// parsers from the client's generic Reply. The parsers move the strings out of the reply (a batch holds
/// thousands of entries) and fail, with a message that names what was wrong, on a reply of any other shape.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "base/redis/client.hpp"
#include "sources/redis/stream_entry_id.hpp"

namespace projectord::sources {

/// One stream entry. `fields` is empty only for an entry deleted (XDEL, trimming) while it was pending: a
/// pending read still lists its id, with nil for its fields. XADD refuses an entry without fields.
struct StreamEntry {
  StreamEntryId id;
  std::vector<std::pair<std::string, std::string>> fields;
};

/// A pending entry (delivered to a consumer of the group, not acknowledged yet) and the consumer holding it.
struct PendingEntry {
  StreamEntryId id;
  std::string consumer;
};

/// A consumer of a group as XINFO CONSUMERS shows it.
struct GroupConsumer {
  std::string name;
  std::int64_t pending = 0;
  std::chrono::milliseconds idle{0};  ///< since its last command on the group
};

/// XINFO STREAM. A key that does not exist is a stream of length 0.
struct StreamInfo {
  std::uint64_t length = 0;
  std::optional<StreamEntryId> first;  ///< the first entry now in the stream
  std::optional<StreamEntryId> last;   ///< the last entry now in the stream
  /// The highest id the stream ever had ("last-generated-id"): trimming and XDEL keep it, a stream deleted and
  /// created again starts over.
  StreamEntryId last_generated{};
  /// The highest id XDEL removed (Redis 7). Trimming (XTRIM, XADD MAXLEN/MINID) leaves it unchanged: a
  /// trimmed stream shows in `first` and in entries_added - length.
  std::optional<StreamEntryId> max_deleted;
  std::uint64_t entries_added = 0;  ///< every entry ever added, deleted or not (Redis 7)
};

/// One XAUTOCLAIM call's answer. Entries deleted while pending are not among them: Redis 7 drops them from
/// the group's pending list itself.
struct ClaimedPage {
  std::optional<StreamEntryId> next;  ///< where the next call goes on; nullopt: the pending list is done
  std::vector<StreamEntry> entries;
};

/// XRANGE: an array of entries.
Result<std::vector<StreamEntry>> parse_entries(redis::Reply reply);
/// XREADGROUP on one stream: nil (a block that timed out) or [[key, entries]].
Result<std::vector<StreamEntry>> parse_read(redis::Reply reply);
Result<ClaimedPage> parse_claimed(redis::Reply reply);
/// XPENDING key group (the summary): the consumers that hold pending entries.
Result<std::vector<std::string>> parse_pending_consumers(redis::Reply reply);
/// XPENDING key group - + COUNT [consumer]: the pending entries, lowest id first.
Result<std::vector<PendingEntry>> parse_pending_entries(redis::Reply reply);
/// XINFO CONSUMERS key group.
Result<std::vector<GroupConsumer>> parse_group_consumers(redis::Reply reply);
Result<StreamInfo> parse_stream_info(redis::Reply reply);
/// XINFO GROUPS: the `lag` of `group` (entries not yet delivered to it); nullopt when the group is not there
/// or Redis cannot tell (after deletions it answers nil).
Result<std::optional<std::int64_t>> parse_group_lag(redis::Reply reply, const std::string& group);

}  // namespace projectord::sources
