#pragma once
/// The one event type that flows from sources through the lanes to handlers.
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

namespace projectord {

/// A PostgreSQL position is the store's sequence value (positive, with holes); a Redis stream entry's is its
/// id mapped in order to 63 bits (sources/redis/stream_entry_id.hpp).
using Position = std::int64_t;

struct Event {
  std::string source;           ///< [sources.NAME] it came from
  Position position = 0;        ///< global order within the source
  std::string entry_id;         ///< a Redis stream entry's id ("MS-SEQ"); empty for PostgreSQL
  std::string stream_id;        ///< aggregate / originator id
  std::int64_t version = 0;     ///< position within the stream (0 when the store has none)
  /// The event class's schema version, once the source's upcasts ran (sources/upcasts.hpp); 1 when the
  /// store records none. Not to be confused with `version`.
  std::int64_t schema_version = 1;
  std::string type;             ///< as stored, e.g. "users.events:UserRegistered" or "UserRegistered"
  std::string recorded_at;      ///< ISO-8601 timestamp, empty when the store has none
  boost::json::value data;      ///< decoded payload, always a JSON object for a good event
  boost::json::value metadata;  ///< JSON object ({} when the store has none)
};

}  // namespace projectord
