#pragma once
/// A minimal generic event store for lane tests: table `events` (id bigserial, stream_id, type, data jsonb)
/// whose events are {"type": "Counted", "data": {"n": N}}, and the projectord schema beside it.
#include <string>

#include "config/config.hpp"
#include "tests/support/test_database.hpp"

namespace projectord::testing {

/// The `store` source over `events` (preset generic), with short waits and batches of 100.
config::PostgresSource generic_source(const TestDatabase& db);

/// Installs the projectord schema (checkpoints, dead letters, rebuilds).
void install_projectord_schema(const TestDatabase& db);

/// Creates `events` and installs the projectord schema.
void create_store(const TestDatabase& db);

/// The INSERT of one event with data {"n": n}.
std::string insert_event(int n);

/// Events n = first..last in one transaction, as insert_event writes them one by one.
void insert_events(const TestDatabase& db, int first, int last);

}  // namespace projectord::testing
