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

/// A Django app `library` with one model per event type (an abstract `Event` base with `created =
/// DateTimeField(auto_now_add=True)`), as Django's migrations create its tables: `library_bookborrowed`,
/// `library_bookreturned` (both with a `book_id` foreign key) and `library_bookbought` (none), beside the
/// `library_book` model they point at, which holds five books.
extern const char* const kLibraryEventTablesDdl;

}  // namespace projectord::testing
