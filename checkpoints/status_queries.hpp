#pragma once
/// What `projectord status` reads of the `projectord` schema for one handler: its checkpoint, a rebuild in
/// progress and its dead letters, each in a read-only transaction of its own.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "base/event.hpp"

namespace projectord::checkpoints {

struct CheckpointSummary {
  Position position = 0;
  std::int64_t events_applied = 0;
  std::string updated_at;  ///< timestamptz as text
  std::int64_t dead_letters = 0;
};

/// Nothing when the handler never started.
std::optional<CheckpointSummary> checkpoint_summary(pqxx::connection& connection, const std::string& handler);

struct RebuildSummary {
  Position position = 0;  ///< of the rebuild's own checkpoint, 0 before its first commit
  std::string requested_by;
  std::string started_at;
};

/// A blue/green rebuild in progress, or left by a crash for the next `run` to resume.
std::optional<RebuildSummary> rebuild_summary(pqxx::connection& connection, const std::string& handler);

struct DeadLetterLine {
  std::int64_t id = 0;
  Position position = 0;
  std::string type;
  std::int64_t attempts = 0;
  std::string created_at;
  std::string error;
};

/// The handler's first `limit` dead letters by position; `more` says whether there are others.
std::vector<DeadLetterLine> first_dead_letters(pqxx::connection& connection, const std::string& handler,
                                               std::size_t limit, bool& more);

}  // namespace projectord::checkpoints
