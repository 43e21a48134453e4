#pragma once
/// The naive baseline: what a Celery task per event does in a Django project. For each event, one
/// transaction: read the event, get the user's row (UserProjection.objects.get / get_or_create), change it
/// in memory and save() it (an UPDATE of every column, or the INSERT of a new row), append the audit row,
/// move a checkpoint row, COMMIT. Same semantics as handlers/users_handler.hpp, written independently of
/// it and of the set-based SQL so that the benchmark's checks compare three implementations.
#include <cstdint>
#include <pqxx/connection>
#include <string>

namespace projectord::bench {

struct NaiveTables {
  std::string users;       ///< shaped like user_projection
  std::string event_log;   ///< shaped like user_event_log; empty: no event log
  std::string checkpoint;  ///< created by the projector: (name text PRIMARY KEY, position bigint)
};

/// Projects the first `count` events (or all, if fewer exist) one transaction each; returns how many.
std::int64_t run_naive_projector(pqxx::connection& connection, const NaiveTables& tables, std::int64_t count);

}  // namespace projectord::bench
