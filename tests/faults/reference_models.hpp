#pragma once
/// The read models a fault scenario ends with, compared with references computed without projectord's code:
/// the demo models (user_projection, user_event_log) with bench/support's plain SQL replay of stored_events in
/// id order, and an event log fed by a Redis stream with the stream's entries as XRANGE lists them.
///
/// Contract: each comparison counts, as multisets over the columns that follow from the events alone, the
/// reference rows the model lacks (or holds otherwise) and the model rows beyond the reference, and quotes the
/// first rows of each kind as JSON, so a failure says which rows differ. It leaves no table behind. The demo
/// store must hold plain JSON payloads (the demo writer without --zlib).
#include <cstdint>
#include <pqxx/connection>
#include <string>

#include "tests/faults/scenario_report.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_database.hpp"

namespace projectord::testing::faults {

struct ModelDifferences {
  std::int64_t missing = 0;  ///< reference rows the model lacks (or has with other values)
  std::int64_t extra = 0;    ///< model rows the reference lacks (duplicates, or other values)
  std::string sample;        ///< up to three of each, as JSON, one a line

  bool none() const { return missing == 0 && extra == 0; }
};

struct ReferenceComparison {
  ModelDifferences users;
  ModelDifferences log;
};

/// The demo models against the replay of the events with id <= `head`.
ReferenceComparison compare_with_reference(pqxx::connection& connection, std::int64_t head,
                                           const std::string& users_table = "user_projection",
                                           const std::string& log_table = "user_event_log");

/// user_projection and user_event_log against the replay of every event in stored_events; fills the figures'
/// events_written, events_applied, duplicates (model rows beyond the reference) and losses (reference rows
/// missing or different); returns the samples, "" when both models equal the reference.
std::string compare_demo_models(const TestDatabase& db, ScenarioFigures& figures);

/// Entries of `stream` added by add_user_entries, against the event log `table` a handler fed from it; fills
/// the figures as compare_demo_models does.
std::string compare_stream_log(const TestDatabase& db, const RedisServer& redis, const std::string& stream,
                               const std::string& table, ScenarioFigures& figures);

/// Adds `count` entries to `stream` in one server-side loop: user-i registered or renamed (version i % 3 + 1)
/// for i = from .. from + count - 1, each with a data object of its own.
void add_user_entries(const RedisServer& redis, const std::string& stream, int from, int count);

}  // namespace projectord::testing::faults
