#include "sources/postgres/row_decoder.hpp"

#include <boost/json/serialize.hpp>

#include "base/printable.hpp"
#include "config/byte_size.hpp"
#include "sources/payload_codec.hpp"
#include "sources/schema_version.hpp"
#include "sources/upcasts.hpp"

namespace projectord::sources {

namespace {

std::string where(const config::PostgresSource& source, Position position) {
  return "source " + source.name + " position " + std::to_string(position) + ": ";
}

// recorded_at_path is "data.KEY" (validated at config load): stores without a time column keep it there.
std::string recorded_at_from_payload(const std::string& path, const boost::json::value& data) {
  constexpr std::string_view kPrefix = "data.";
  if (path.rfind(kPrefix, 0) != 0 || !data.is_object()) return {};
  const auto* value = data.as_object().if_contains(std::string_view(path).substr(kPrefix.size()));
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// djangoevents stores the text `null` for an event without metadata: no metadata, as SQL NULL is.
bool is_json_null(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first != std::string_view::npos && text.substr(first, last - first + 1) == "null";
}

// django_event_tables: the payload is the whole row (reader.cpp, union_of_tables). Its position column is not
// the event's data, and its stream id is stream_id_column's value as text where the table has that column
// (else empty).
void take_row_keys(const config::PostgresSource& source, Event& event) {
  if (!event.data.is_object()) return;
  boost::json::object& row = event.data.as_object();
  row.erase(source.position_column);
  if (source.stream_id_column.empty()) return;
  const boost::json::value* id = row.if_contains(source.stream_id_column);
  if (id == nullptr || id->is_null()) return;
  event.stream_id = id->is_string() ? std::string(id->as_string()) : boost::json::serialize(*id);
}

}  // namespace

Result<Event> decode_row(const config::PostgresSource& source, const RawRow& row) {
  Event event;
  event.source = source.name;
  event.position = row.position;
  event.stream_id = row.stream_id;
  event.version = row.version;
  event.type = row.type;

  if (row.payload_size > static_cast<std::int64_t>(source.max_event_bytes)) {
    return fail(where(source, row.position) + "payload of " + std::to_string(row.payload_size) +
                " bytes is over max_event_bytes (" +
                config::format_byte_size(static_cast<std::int64_t>(source.max_event_bytes)) + "), not read");
  }
  if (row.payload_format && *row.payload_format != "json") {
    return fail(where(source, row.position) + "payload format '" + printable(*row.payload_format) + "' in " +
                source.payload_format_column + " is not decoded: only json payloads are");
  }
  auto bytes = unescape_bytea(row.payload);
  if (!bytes) return fail(where(source, row.position) + bytes.error());
  auto data = decode_payload(source.codec, *bytes, source.max_event_bytes, source.cipher_key);
  if (!data) return fail(where(source, row.position) + data.error());
  event.data = std::move(*data);
  if (!source.tables.empty()) take_row_keys(source, event);

  if (row.metadata && !is_json_null(*row.metadata)) {
    // Held to the payload's rules (an object, the depth and size limits, finite numbers): a webhook's body
    // carries it too.
    auto metadata = decode_payload(config::Codec::json, *row.metadata, source.max_event_bytes);
    if (!metadata) return fail(where(source, row.position) + "metadata: " + metadata.error());
    event.metadata = std::move(*metadata);
  } else {
    event.metadata = boost::json::object();
  }

  event.recorded_at = !row.recorded_at.empty()           ? row.recorded_at
                      : !source.recorded_at_path.empty() ? recorded_at_from_payload(source.recorded_at_path, event.data)
                                                         : std::string();

  auto schema_version = row.event_version                       ? checked_schema_version(*row.event_version)
                        : !source.event_version_path.empty() ? schema_version_at(event, source.event_version_path)
                                                             : Result<std::int64_t>(1);
  if (!schema_version) return fail(where(source, row.position) + schema_version.error());
  event.schema_version = *schema_version;
  if (auto upcast = apply_upcasts(source.upcasts, event); !upcast) {
    return fail(where(source, row.position) + upcast.error());
  }
  return event;
}

}  // namespace projectord::sources
