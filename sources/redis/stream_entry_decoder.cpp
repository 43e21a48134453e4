#include "sources/redis/stream_entry_decoder.hpp"

#include <charconv>
#include <string_view>

#include "base/printable.hpp"
#include "base/utf8.hpp"
#include "sources/payload_codec.hpp"
#include "sources/schema_version.hpp"
#include "sources/upcasts.hpp"

namespace projectord::sources {
namespace {

// The value of field `name`, or null; an unmapped field (empty name) is missing.
const std::string* field(const StreamEntry& entry, std::string_view name) {
  if (name.empty()) return nullptr;
  for (const auto& [key, value] : entry.fields) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace

Result<Event> decode_entry(const config::RedisSource& source, const StreamEntry& entry) {
  const std::string id = entry.id.text();
  const auto error = [&](std::string_view name, std::string_view why) {
    return fail("source " + source.name + " entry " + id + ": field '" + std::string(name) + "' " + std::string(why));
  };
  if (entry.fields.empty()) {
    return fail("source " + source.name + " entry " + id + ": deleted from the stream while pending (no fields)");
  }
  const auto position = entry.id.position();
  if (!position) {
    return fail("source " + source.name + " entry " + id +
                ": the id is beyond the positions (milliseconds below 2^42, sequence below 2^21)");
  }

  Event event;
  event.source = source.name;
  event.position = *position;
  event.entry_id = id;

  // Text fields go into PostgreSQL text parameters and JSON strings as they are, which take neither.
  const auto not_text = [&](std::string_view name, const std::string& value) {
    return error(name, "is not UTF-8 text without NUL bytes: '" + printable(value, 64) + "'");
  };
  const auto* type = field(entry, source.type_field);
  if (type == nullptr) return error(source.type_field, "is missing");
  if (!is_text(*type)) return not_text(source.type_field, *type);
  event.type = *type;

  if (const auto* stream_id = field(entry, source.stream_id_field)) {
    if (!is_text(*stream_id)) return not_text(source.stream_id_field, *stream_id);
    event.stream_id = *stream_id;
  }

  const auto integer_field = [&](const std::string& name, std::int64_t& out) -> Result<void> {
    const auto* text = field(entry, name);
    if (text == nullptr) return {};
    const char* end = text->data() + text->size();
    const auto [stop, ec] = std::from_chars(text->data(), end, out);
    if (text->empty() || ec != std::errc{} || stop != end) {
      return error(name, "is not a 64-bit integer: '" + printable(*text, 64) + "'");
    }
    return {};
  };
  if (auto version = integer_field(source.version_field, event.version); !version) return fail(version.error());
  if (auto version = integer_field(source.event_version_field, event.schema_version); !version) {
    return fail(version.error());
  }
  if (auto checked = checked_schema_version(event.schema_version); !checked) {
    return error(source.event_version_field, checked.error());
  }

  const auto* data = field(entry, source.data_field);
  if (data == nullptr) return error(source.data_field, "is missing");
  auto data_json = decode_payload(source.codec, *data, source.max_event_bytes, source.cipher_key);
  if (!data_json) return error(source.data_field, "(JSON object text): " + data_json.error());
  event.data = std::move(*data_json);

  if (const auto* metadata = field(entry, source.metadata_field)) {
    auto metadata_json = decode_payload(config::Codec::json, *metadata, source.max_event_bytes);
    if (!metadata_json) return error(source.metadata_field, "(JSON object text): " + metadata_json.error());
    event.metadata = std::move(*metadata_json);
  } else {
    event.metadata = boost::json::object();
  }

  if (const auto* recorded_at = field(entry, source.recorded_at_field)) {
    if (!is_text(*recorded_at)) return not_text(source.recorded_at_field, *recorded_at);
    event.recorded_at = *recorded_at;
  }
  if (auto upcast = apply_upcasts(source.upcasts, event); !upcast) {
    return fail("source " + source.name + " entry " + id + ": " + upcast.error());
  }
  return event;
}

}  // namespace projectord::sources
