#include "sources/redis/stream_replies.hpp"

namespace projectord::sources {
namespace {

bool is_array(const redis::Reply& reply, std::size_t size) {
  return reply.kind == redis::Reply::Kind::array && reply.elements.size() == size;
}

Result<StreamEntryId> parse_id(const redis::Reply& reply) {
  const auto id = reply.kind == redis::Reply::Kind::string ? StreamEntryId::parse(reply.text) : std::nullopt;
  if (!id) return fail("unexpected reply: an entry id that is not MS-SEQ");
  return *id;
}

// An id that means "none": XINFO's max-deleted-entry-id before any XDEL, XAUTOCLAIM's cursor at the end.
constexpr StreamEntryId kNoId{};

Result<StreamEntry> parse_entry(redis::Reply& reply) {
  if (!is_array(reply, 2)) return fail("unexpected reply: an entry that is not [id, fields]");
  auto id = parse_id(reply.elements[0]);
  if (!id) return fail(id.error());
  StreamEntry entry{*id, {}};
  auto& fields = reply.elements[1];
  if (fields.kind == redis::Reply::Kind::nil) return entry;  // deleted while pending (see StreamEntry)
  if (fields.kind != redis::Reply::Kind::array || fields.elements.size() % 2 != 0) {
    return fail("unexpected reply: the fields of entry " + id->text() + " are not name, value pairs");
  }
  entry.fields.reserve(fields.elements.size() / 2);
  for (std::size_t i = 0; i < fields.elements.size(); i += 2) {
    auto& name = fields.elements[i];
    auto& value = fields.elements[i + 1];
    if (name.kind != redis::Reply::Kind::string || value.kind != redis::Reply::Kind::string) {
      return fail("unexpected reply: a field of entry " + id->text() + " is not a string");
    }
    entry.fields.emplace_back(std::move(name.text), std::move(value.text));
  }
  return entry;
}

// "first-entry" and "last-entry" of XINFO STREAM: nil for an empty stream.
Result<std::optional<StreamEntryId>> parse_optional_entry_id(redis::Reply& reply) {
  if (reply.kind == redis::Reply::Kind::nil) return std::optional<StreamEntryId>();
  auto entry = parse_entry(reply);
  if (!entry) return fail(entry.error());
  return std::optional<StreamEntryId>(entry->id);
}

}  // namespace

Result<std::vector<StreamEntry>> parse_entries(redis::Reply reply) {
  if (reply.kind != redis::Reply::Kind::array) return fail("unexpected reply: not an array of entries");
  std::vector<StreamEntry> entries;
  entries.reserve(reply.elements.size());
  for (auto& element : reply.elements) {
    auto entry = parse_entry(element);
    if (!entry) return fail(entry.error());
    entries.push_back(std::move(*entry));
  }
  return entries;
}

Result<std::vector<StreamEntry>> parse_read(redis::Reply reply) {
  if (reply.kind == redis::Reply::Kind::nil) return std::vector<StreamEntry>();
  if (!is_array(reply, 1) || !is_array(reply.elements[0], 2)) {
    return fail("unexpected reply: not [[stream, entries]] for one stream");
  }
  return parse_entries(std::move(reply.elements[0].elements[1]));
}

Result<ClaimedPage> parse_claimed(redis::Reply reply) {
  // Redis 7 adds a third element, the ids it dropped from the pending list because they were deleted.
  if (reply.kind != redis::Reply::Kind::array || reply.elements.size() < 2) {
    return fail("unexpected reply: not [cursor, entries, ...]");
  }
  auto next = parse_id(reply.elements[0]);
  if (!next) return fail(next.error());
  auto entries = parse_entries(std::move(reply.elements[1]));
  if (!entries) return fail(entries.error());
  return ClaimedPage{*next != kNoId ? std::optional(*next) : std::nullopt, std::move(*entries)};
}

Result<std::vector<std::string>> parse_pending_consumers(redis::Reply reply) {
  // [count, lowest id, highest id, [[consumer, count], ...]]; with nothing pending the last three are nil.
  if (!is_array(reply, 4)) return fail("unexpected reply: an XPENDING summary that is not 4 elements");
  std::vector<std::string> consumers;
  redis::Reply& holders = reply.elements[3];
  if (holders.kind == redis::Reply::Kind::nil) return consumers;
  if (holders.kind != redis::Reply::Kind::array) return fail("unexpected reply: XPENDING consumers are not an array");
  for (redis::Reply& holder : holders.elements) {
    if (!is_array(holder, 2) || holder.elements[0].kind != redis::Reply::Kind::string) {
      return fail("unexpected reply: an XPENDING consumer that is not [name, count]");
    }
    consumers.push_back(std::move(holder.elements[0].text));
  }
  return consumers;
}

Result<std::vector<PendingEntry>> parse_pending_entries(redis::Reply reply) {
  if (reply.kind != redis::Reply::Kind::array) return fail("unexpected reply: not an array of pending entries");
  std::vector<PendingEntry> entries;
  entries.reserve(reply.elements.size());
  for (redis::Reply& entry : reply.elements) {
    // [id, consumer, milliseconds idle, deliveries]
    if (!is_array(entry, 4) || entry.elements[1].kind != redis::Reply::Kind::string) {
      return fail("unexpected reply: a pending entry that is not [id, consumer, idle, deliveries]");
    }
    auto id = parse_id(entry.elements[0]);
    if (!id) return fail(id.error());
    entries.push_back(PendingEntry{*id, std::move(entry.elements[1].text)});
  }
  return entries;
}

Result<std::vector<GroupConsumer>> parse_group_consumers(redis::Reply reply) {
  if (reply.kind != redis::Reply::Kind::array) return fail("unexpected reply: XINFO CONSUMERS is not an array");
  std::vector<GroupConsumer> consumers;
  consumers.reserve(reply.elements.size());
  for (redis::Reply& entry : reply.elements) {
    if (entry.kind != redis::Reply::Kind::array || entry.elements.size() % 2 != 0) {
      return fail("unexpected reply: an XINFO CONSUMERS entry that is not name, value pairs");
    }
    GroupConsumer consumer;
    bool named = false;
    for (std::size_t i = 0; i < entry.elements.size(); i += 2) {
      const std::string& field = entry.elements[i].text;
      redis::Reply& value = entry.elements[i + 1];
      if (field == "name" && value.kind == redis::Reply::Kind::string) {
        consumer.name = std::move(value.text);
        named = true;
      }
      if (field == "pending" && value.kind == redis::Reply::Kind::integer) consumer.pending = value.integer;
      if (field == "idle" && value.kind == redis::Reply::Kind::integer) {
        consumer.idle = std::chrono::milliseconds(value.integer);
      }
    }
    if (!named) return fail("unexpected reply: an XINFO CONSUMERS entry without a name");
    consumers.push_back(std::move(consumer));
  }
  return consumers;
}

Result<std::optional<std::int64_t>> parse_group_lag(redis::Reply reply, const std::string& group) {
  if (reply.kind != redis::Reply::Kind::array) return fail("unexpected reply: XINFO GROUPS is not an array");
  for (const redis::Reply& entry : reply.elements) {
    if (entry.kind != redis::Reply::Kind::array || entry.elements.size() % 2 != 0) {
      return fail("unexpected reply: an XINFO GROUPS entry that is not name, value pairs");
    }
    std::optional<std::int64_t> lag;
    bool ours = false;
    for (std::size_t i = 0; i < entry.elements.size(); i += 2) {
      const std::string& name = entry.elements[i].text;
      const redis::Reply& value = entry.elements[i + 1];
      if (name == "name") ours = value.text == group;
      if (name == "lag" && value.kind == redis::Reply::Kind::integer) lag = value.integer;
    }
    if (ours) return lag;
  }
  return std::optional<std::int64_t>();
}

Result<StreamInfo> parse_stream_info(redis::Reply reply) {
  if (reply.kind != redis::Reply::Kind::array || reply.elements.size() % 2 != 0) {
    return fail("unexpected reply: XINFO STREAM is not name, value pairs");
  }
  StreamInfo info;
  for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
    const std::string& name = reply.elements[i].text;
    auto& value = reply.elements[i + 1];
    if (name == "length" || name == "entries-added") {
      if (value.kind != redis::Reply::Kind::integer || value.integer < 0) {
        return fail("unexpected reply: XINFO STREAM " + name + " is not a count");
      }
      (name == "length" ? info.length : info.entries_added) = static_cast<std::uint64_t>(value.integer);
    } else if (name == "max-deleted-entry-id") {
      auto id = parse_id(value);
      if (!id) return fail(id.error());
      if (*id != kNoId) info.max_deleted = *id;
    } else if (name == "last-generated-id") {
      auto id = parse_id(value);
      if (!id) return fail(id.error());
      info.last_generated = *id;
    } else if (name == "first-entry" || name == "last-entry") {
      auto id = parse_optional_entry_id(value);
      if (!id) return fail(id.error());
      (name == "first-entry" ? info.first : info.last) = *id;
    }
  }
  return info;
}

}  // namespace projectord::sources
