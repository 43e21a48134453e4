#pragma once
/// The event tables of the libraries projectord reads, as each library (or Django's migrations for it) creates
/// them, for tests that need a store exactly as its users have it.
#include <string>

namespace projectord::testing {

/// pyeventsourcing 9.4's PostgreSQL application recorder: `{prefix}_events` in `schema` with its unique
/// notification_id index.
std::string eventsourcing_events_ddl(const std::string& prefix, const std::string& schema = "public");

/// The Django guide's `EventStoreRecord` model in app `app`: `{app}_eventstorerecord`, as its migration creates it.
std::string event_store_record_ddl(const std::string& app);

/// djangoevents' `event_journal` after its migrations 0001-0003.
extern const char* const kEventJournalDdl;

/// Eventuali's `events` as its PostgreSQL store creates it (UUID ids, no global position), with its indexes.
extern const char* const kEventualiEventsDdl;

}  // namespace projectord::testing
