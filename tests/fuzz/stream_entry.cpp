// A Redis stream entry as the sources read it: its id (sources/redis/stream_entry_id.hpp) and its fields
// mapped to an Event (sources/redis/stream_entry_decoder.hpp) with plain and transcoder JSON data.
// Input: the entry id on the first line, then one field per line as NAME=VALUE (split at the first '=').
// Beyond "no crash": an id reads back from its text, maps to a position and back when it has one, and a
// decoded event sits at its id's position.
#include "sources/redis/stream_entry_decoder.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using projectord::fuzz::require;
using projectord::sources::StreamEntry;
using projectord::sources::StreamEntryId;

void check_id(const StreamEntryId& id) {
  require(StreamEntryId::parse(id.text()) == id, "an entry id reads back from its text");
  if (const auto position = id.position()) {
    require(*position >= 0, "an entry id's position is not negative");
    require(StreamEntryId::from_position(*position) == id, "an entry id maps to its position and back");
  }
}

projectord::config::RedisSource source_with(projectord::config::Codec codec) {
  projectord::config::RedisSource source;
  source.name = "fuzz";
  source.stream = "fuzz-stream";
  source.codec = codec;
  return source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto plain = source_with(projectord::config::Codec::json);
  static const auto transcoded = source_with(projectord::config::Codec::eventsourcing_json);
  projectord::fuzz::Lines lines(projectord::fuzz::as_text(data, size));
  const auto id = StreamEntryId::parse(lines.next());
  if (!id) return 0;
  check_id(*id);

  StreamEntry entry{*id, {}};
  while (!lines.empty()) {
    const std::string_view field = lines.next();
    const std::size_t equals = field.find('=');
    entry.fields.emplace_back(field.substr(0, equals),
                              equals == std::string_view::npos ? std::string_view{} : field.substr(equals + 1));
  }
  for (const auto* source : {&plain, &transcoded}) {
    const auto event = projectord::sources::decode_entry(*source, entry);
    if (event) require(event->position == *id->position(), "a decoded event sits at its entry id's position");
  }
  return 0;
}
