#pragma once
/// One lane's consumer of a Redis stream through a consumer group, over one dedicated connection, as plain
/// blocking calls: the lane thread blocks on PostgreSQL anyway. Each call runs the reader's own io_context
/// on the calling thread until its command has been answered.
///
/// Contract:
/// - Call connect() first and again after any failed Result: a failure (connection lost, an error reply such
///   as NOGROUP, no reply in time) may leave the connection closed. Messages name the source, the stream,
///   the command and the server, never the password.
/// - Every reply has a deadline: connect's timeout, plus the block for read_new. A server that does not
///   answer in time fails the call and the connection is closed.
/// - interrupt() is the only call for other threads. It makes the read_new in progress, or else the next
///   one, return at once, empty. It asks the server on a second, short-lived connection to end the blocked
///   XREADGROUP (CLIENT UNBLOCK), so the reader stays connected; where that is impossible (the ACL user may
///   not run CLIENT UNBLOCK, the server cannot be reached) it closes the connection instead, and the next
///   call fails, after which the caller reconnects as after any failure.
/// - Not thread-safe otherwise: one thread makes the calls. interrupt() must not race the destructor.
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "base/result.hpp"
#include "sources/redis/stream_entry_id.hpp"
#include "sources/redis/stream_replies.hpp"

namespace projectord::sources {

class RedisStreamReader {
 public:
  /// `group` is the whole group name (the caller composes source.group and the handler).
  RedisStreamReader(config::RedisSource source, std::string group, std::string consumer);
  ~RedisStreamReader();
  RedisStreamReader(const RedisStreamReader&) = delete;
  RedisStreamReader& operator=(const RedisStreamReader&) = delete;

  /// How long a lane's connect (with AUTH and SELECT) may take.
  static constexpr std::chrono::seconds kConnectTimeout{10};

  /// Opens a new connection, closing the one before. `timeout` bounds the connect and every later reply.
  Result<void> connect(std::chrono::milliseconds timeout);

  /// Creates the group at source.start ("0" or "$") and the stream if missing; an existing group is kept.
  Result<void> ensure_group();

  /// Moves the group's last delivered id to `id`: entries above it are delivered again (XGROUP SETID).
  Result<void> set_group_id(StreamEntryId id);

  /// This consumer's own pending entries (delivered before, not acknowledged) with ids above `after`, in id
  /// order; deleted ones come with empty fields (StreamEntry).
  Result<std::vector<StreamEntry>> read_pending(StreamEntryId after, std::size_t count);

  /// Entries never delivered to the group, which become this consumer's pending ones. Waits up to `block`
  /// for the first (0: does not wait); empty when none came or interrupt() was called.
  Result<std::vector<StreamEntry>> read_new(std::size_t count, std::chrono::milliseconds block);

  /// Takes over up to `count` entries pending for at least `min_idle` in the group, whoever holds them (this
  /// consumer too), lowest ids first, and returns them; they become this consumer's pending entries.
  Result<std::vector<StreamEntry>> claim_idle(std::chrono::milliseconds min_idle, std::size_t count);

  /// Takes over every entry pending on the group's other consumers, whatever its idle time, without reading
  /// it (XPENDING, then XCLAIM ... JUSTID per page of each consumer): the entries join this consumer's pending
  /// ones, for read_pending. Returns how many it took. Only for a reader that knows the other consumers are
  /// gone: one alive would find its entries taken from under it.
  Result<std::size_t> claim_pending_elsewhere();

  /// Deletes the group's other consumers that hold no pending entry and have not been heard of for
  /// `min_idle` (XINFO CONSUMERS, XGROUP DELCONSUMER), so that every restart under a new consumer name does
  /// not leave one more behind; returns their names. A consumer deleted as it reads again comes back, but an
  /// entry it read between the two commands would leave the pending list: hence the idle time.
  Result<std::vector<std::string>> forget_idle_consumers(std::chrono::milliseconds min_idle);

  /// The lowest entry above `above` pending on another consumer of the group than this reader's, and that
  /// consumer; nullopt when there is none. One XPENDING summary, then one XPENDING per such consumer.
  Result<std::optional<PendingEntry>> oldest_pending_elsewhere(StreamEntryId above = {});

  /// Acknowledges the entries in one command; ids that are not pending are ignored by Redis.
  Result<void> ack(std::span<const StreamEntryId> ids);

  /// Entries with ids above `after` in id order, outside the group (rebuilds read this way).
  Result<std::vector<StreamEntry>> range_after(StreamEntryId after, std::size_t count);

  Result<StreamInfo> info();

  /// How many entries the group has not been delivered yet (XINFO GROUPS lag, Redis 7); nullopt when
  /// Redis cannot tell.
  Result<std::optional<std::int64_t>> group_lag();

  /// Any thread: ends the read_new in progress, or the next one (see the contract above).
  void interrupt();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace projectord::sources
