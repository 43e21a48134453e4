#pragma once
/// Redis stream entries as a source's rows: decoded events, or poison rows that say why not.
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "sources/source.hpp"
#include "sources/redis/stream_reader.hpp"

namespace projectord {

/// One row per entry, in order, `before` being the position of the entry before the first. An entry whose
/// id has no position (see stream_entry_id.hpp) is a poison row at its stand-in position, one after the row
/// before it: each gets a dead letter of its own, whose payload names the entry id (a stand-in position
/// leads back to no entry), and the lane goes on past it.
std::vector<SourceRow> stream_rows(const config::RedisSource& source, std::vector<sources::StreamEntry>& entries,
                                Position before);

/// The entry at `position`, read with `reader` (XRANGE, outside any group); nullopt when the stream no
/// longer holds it. A stand-in position is a poison row saying that it cannot be read again. Throws when
/// Redis cannot be asked.
std::optional<SourceRow> stream_row_at(const config::RedisSource& source, sources::RedisStreamReader& reader,
                                    Position position);

/// The stream's true head: its last generated id's position (0 for a new stream). Throws when Redis cannot
/// be asked.
Position stream_head(sources::RedisStreamReader& reader);

/// What the stream holds at `position` (see Source::row_at): an entry gone while the stream shows it was
/// trimmed or deleted past it is retired, not missing. Throws when Redis cannot be asked.
RowAt stream_row_fingerprint(const config::RedisSource& source, sources::RedisStreamReader& reader,
                             Position position);

/// The consumer name of this process when the config names none: HOSTNAME-PID.
std::string default_consumer_name();

}  // namespace projectord
