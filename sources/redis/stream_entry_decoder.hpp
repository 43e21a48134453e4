#pragma once
/// Turns a Redis stream entry into an Event by the source's field mapping: type (required), stream_id
/// (missing: empty), version (a decimal integer; missing: 0), data (a JSON object in the source's codec, e.g.
/// plain JSON or pyeventsourcing's transcoder JSON; required), metadata (a JSON object's text; missing: {}),
/// recorded_at (missing: empty), the schema version (a decimal integer from 1; missing: 1), then the
/// source's upcasts (sources/upcasts.hpp); type, stream_id and recorded_at are UTF-8 text without NUL bytes, as
/// PostgreSQL's text and JSON strings take them. The position is the entry id's
/// (stream_entry_id.hpp). An entry that cannot be decoded (a required field missing or malformed, data or
/// metadata over the source's max_event_bytes as sent or once inflated, an id beyond the positions, an entry
/// deleted while pending) yields an error naming the source, the entry id and the field; the lane treats it as
/// a poison event. A field that occurs twice counts the first time.
#include "config/config.hpp"
#include "base/event.hpp"
#include "base/result.hpp"
#include "sources/redis/stream_replies.hpp"

namespace projectord::sources {

Result<Event> decode_entry(const config::RedisSource& source, const StreamEntry& entry);

}  // namespace projectord::sources
