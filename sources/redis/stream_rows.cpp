#include "sources/redis/stream_rows.hpp"

#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "base/utf8.hpp"
#include "sources/redis/stream_entry_decoder.hpp"
#include "sources/row_fingerprint.hpp"

namespace projectord {

namespace {

// A field's value as a dead letter's text column takes it (as_text: malformed UTF-8 and NUL bytes escaped).
std::string field(const sources::StreamEntry& entry, const std::string& name) {
  for (const auto& [key, value] : entry.fields) {
    if (key == name) return as_text(value);
  }
  return {};
}

// What a dead letter shows of an entry that is no event: all its fields, as a JSON object of text. An entry at a
// stand-in position is shown with its id too, which nothing else in its dead letter keeps through a retry.
std::string payload_of(const sources::StreamEntry& entry, bool stand_in) {
  boost::json::object fields;
  for (const auto& [key, value] : entry.fields) fields[as_text(key)] = as_text(value);
  if (!stand_in) return boost::json::serialize(fields);
  return boost::json::serialize(boost::json::object{{"entry_id", entry.id.text()}, {"fields", std::move(fields)}});
}

}  // namespace

std::vector<SourceRow> stream_rows(const config::RedisSource& source, std::vector<sources::StreamEntry>& entries,
                                Position before) {
  std::vector<SourceRow> rows;
  rows.reserve(entries.size());
  Position last = before;
  for (sources::StreamEntry& entry : entries) {
    const std::optional<Position> mapped = entry.id.position();
    const Position position = mapped.value_or(entry.id.stand_in_after(last));
    last = position;
    auto event = sources::decode_entry(source, entry);
    if (event) {
      rows.push_back({position, std::move(*event)});
    } else {
      rows.push_back({position, Undecodable{field(entry, source.stream_id_field), field(entry, source.type_field),
                                            payload_of(entry, !mapped), event.error()}});
    }
  }
  return rows;
}

std::optional<SourceRow> stream_row_at(const config::RedisSource& source, sources::RedisStreamReader& reader,
                                    Position position) {
  if (position <= 0) return std::nullopt;
  auto entries = reader.range_after(sources::StreamEntryId::from_position(position - 1), 1);
  if (!entries) throw std::runtime_error(entries.error());
  if (entries->empty()) return std::nullopt;
  // Past a position with no entry of its own, the next entry has no position either: it was a stand-in.
  if (!entries->front().id.position()) {
    return SourceRow{position, Undecodable{{}, {}, {}, "source " + source.name + " position " +
                                                           std::to_string(position) +
                                                           " stands in for a stream entry whose id has no position "
                                                           "(its dead letter's payload names it): it cannot be read "
                                                           "again"}};
  }
  if (entries->front().id.position() != position) return std::nullopt;
  return std::move(stream_rows(source, *entries, position - 1).front());
}

namespace {

sources::StreamInfo must_info(sources::RedisStreamReader& reader) {
  auto info = reader.info();
  if (!info) throw std::runtime_error(info.error());
  return std::move(*info);
}

}  // namespace

Position stream_head(sources::RedisStreamReader& reader) {
  return must_info(reader).last_generated.head_position();
}

RowAt stream_row_fingerprint(const config::RedisSource& source, sources::RedisStreamReader& reader,
                             Position position) {
  if (const std::optional<SourceRow> row = stream_row_at(source, reader, position)) {
    return {RowAt::Found::row, row_fingerprint(*row)};
  }
  // XDEL raises max_deleted; trimming shows as fewer entries than were ever added, all below the first left.
  // A stream created anew has neither, unless it was trimmed in turn: that one cannot be told apart.
  const sources::StreamInfo info = must_info(reader);
  const auto id = sources::StreamEntryId::from_position(position);
  const bool deleted = info.max_deleted && *info.max_deleted >= id;
  const bool trimmed = info.entries_added > info.length && (!info.first || *info.first > id);
  return {deleted || trimmed ? RowAt::Found::retired : RowAt::Found::missing, 0};
}

std::string default_consumer_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] != '\0' ? host : "projectord") + "-" + std::to_string(::getpid());
}

}  // namespace projectord
