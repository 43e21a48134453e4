#pragma once
/// What the databases say of each handler, for `projectord status` (daemon/cli/status_command.hpp): its
/// checkpoint against the head of its source, which process holds its lease and which stand by, a rebuild in
/// progress and its first dead letters. Read with no
/// daemon involved, so it works whether or not one is running; what only the running daemon knows (its
/// state, the lag in time) it does not have.
#include <optional>
#include <string>
#include <vector>

#include "checkpoints/leases.hpp"
#include "checkpoints/status_queries.hpp"
#include "config/config.hpp"

namespace projectord {

struct HandlerReading {
  std::string name;
  std::string kind;
  std::string source;
  std::optional<checkpoints::CheckpointSummary> checkpoint;  ///< none: the handler never started
  /// As an operator types them: numbers, or entry ids for a Redis-fed handler.
  std::string position;
  std::string head;
  /// Events after the checkpoint; none for a Redis-fed handler (it would take a scan of the stream).
  std::optional<std::int64_t> lag;
  std::optional<checkpoints::LeaseHolder> lease;       ///< none: no process ever ran it
  std::vector<checkpoints::LeaseStandby> standbys;   ///< processes waiting for the lease, earliest first
  std::optional<checkpoints::RebuildSummary> rebuild;
  std::vector<checkpoints::DeadLetterLine> dead_letters;  ///< the first kDeadLettersRead by position
  bool more_dead_letters = false;
  std::string error;  ///< why the handler could not be read; the fields above are partial then
};

inline constexpr std::size_t kDeadLettersRead = 20;

struct StatusReading {
  std::string unreachable;  ///< why the target database could not be reached; no handlers then
  std::vector<HandlerReading> handlers;
};

StatusReading read_status(const config::Config& config);

}  // namespace projectord
