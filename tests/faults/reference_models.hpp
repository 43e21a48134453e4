#pragma once
/// The read models a fault scenario ends with, compared with references computed without projectord's code:
/// the demo models (user_projection, user_event_log) with bench/support's plain SQL replay of stored_events in
/// id order, and an event log fed by a Redis stream with the stream's entries as XRANGE lists them.
///
/// Contract: each comparison fills the figures' events_written, events_applied, duplicates (rows the model
/// holds beyond the reference) and losses (reference rows missing or different in the model) and returns
/// what differed, the first rows of each kind as JSON, or "" when the model equals its reference. It leaves
/// no table behind. The demo store must hold plain JSON payloads (the demo writer without --zlib).
#include <string>

#include "tests/faults/scenario_report.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_database.hpp"

namespace projectord::testing::faults {

/// user_projection and user_event_log against the replay of every event in stored_events.
std::string compare_demo_models(const TestDatabase& db, ScenarioFigures& figures);

/// Entries of `stream` added by add_user_entries, against the event log `table` a handler fed from it.
std::string compare_stream_log(const TestDatabase& db, const RedisServer& redis, const std::string& stream,
                               const std::string& table, ScenarioFigures& figures);

/// Adds `count` entries to `stream` in one server-side loop: user-i registered or renamed (version i % 3 + 1)
/// for i = from .. from + count - 1, each with a data object of its own.
void add_user_entries(const RedisServer& redis, const std::string& stream, int from, int count);

}  // namespace projectord::testing::faults
