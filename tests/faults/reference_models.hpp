#pragma once
/// The demo's read models (`user_projection`, `user_event_log`) compared row by row with bench's reference:
/// the same models computed by plain SQL from stored_events in position order (bench/support/reference_sql),
/// independently of projectord's code.
///
/// Contract: compare_with_reference() builds the reference in tables of its own (reference_users,
/// reference_log; once per database) from the events with id <= `head`, then counts the rows each side has that
/// the other lacks (as multisets, over the columns that follow from the events alone) and quotes a few of
/// them, so a failure says which rows differ.
#include <cstdint>
#include <pqxx/connection>
#include <string>

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

ReferenceComparison compare_with_reference(pqxx::connection& connection, std::int64_t head,
                                           const std::string& users_table = "user_projection",
                                           const std::string& log_table = "user_event_log");

}  // namespace projectord::testing::faults
