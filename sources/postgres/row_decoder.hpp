#pragma once
/// Turns a stored row into an Event: payload through the source's codec (a django_event_tables row: its
/// position column left out and its stream id taken from it), metadata JSON, recorded_at from
/// its column or from a path into the payload, the schema version from its column or path, then the
/// source's upcasts (sources/upcasts.hpp). A row that cannot be decoded, or whose payload is over the
/// source's max_event_bytes (the reader did not fetch it), yields an error that names the source and position
/// (and the size and limit, or the upcast that cannot apply); the lane treats it as a poison event.
#include "config/config.hpp"
#include "base/event.hpp"
#include "base/result.hpp"
#include "sources/postgres/reader.hpp"

namespace projectord::sources {

Result<Event> decode_row(const config::PostgresSource& source, const RawRow& row);

}  // namespace projectord::sources
