#pragma once
/// SQL that computes from stored_events alone what projectord's `users` and `event_log` handlers write
/// (handlers/users_handler.hpp and handlers/event_log_handler.hpp give the per-event semantics): the catch-up
/// benchmark's reference points (the set-based bound and the naive per-event projector) and the reference the
/// benchmarks check projectord's read models against (read_models.hpp).
///
/// Every statement takes $1 = application_name and $2 = a stored_events id. Payloads must be plain JSON
/// (no zlib). The JSONTranscoder markers are decoded for the fields the user events carry: `timestamp`
/// (datetime_iso) and `deactivated_by` (uuid_hex), the only markers UserEventGenerator writes.
#include <string>

namespace projectord::bench {

/// INSERT ... SELECT of one log row per event with id <= $2 into `table` (shaped like user_event_log).
std::string insert_event_log_sql(const std::string& table);

/// INSERT ... SELECT of the final users rows after the events with id <= $2 into `table` (shaped like
/// user_projection), as folding them one by one in id order into an empty table would leave it.
std::string insert_users_sql(const std::string& table);

/// The first event after id $2, decoded: id, user_id, version, kind (class name of the topic), event time
/// (timestamptz as text), username, email, new_email, first_name, last_name, phone (JSON null and missing
/// keys are SQL NULL), data (the payload with its markers decoded, as JSON text). No row past the end.
std::string next_event_sql();

}  // namespace projectord::bench
