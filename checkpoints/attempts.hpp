#pragma once
/// projectord.attempts: the write-ahead count of a side effect's delivery attempts. Each row counts the
/// attempts at the events of one range of positions, [first_position, last_position], of the checkpoint named
/// `handler`; an event's attempts are the sum over the rows whose range holds its position. An attempt is
/// recorded and committed before the delivery it counts is sent, so a process killed after sending cannot
/// have given the event a free attempt, and the next process (a restart, or another one taking the lease
/// over) loads what was recorded after the checkpoint. Rows the checkpoint has passed count no more; the next
/// record deletes them.
///
/// A record is fenced as the checkpoint is (checkpoints/checkpoint_store.hpp), and more tightly: it locks the
/// lease row (FOR SHARE) while it checks the epoch, so a takeover either waits for the record's commit (and its
/// load then sees it) or is seen by the record, which then fails with LeaseLost and commits nothing.
#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "base/position_range.hpp"

namespace projectord::checkpoints {

/// Attempts recorded per range of positions.
using AttemptCounts = std::map<PositionRange, int>;

/// The attempts recorded for `handler` at events after its checkpoint (all of them when it has none yet).
AttemptCounts recorded_attempts(pqxx::connection& connection, const std::string& handler);

/// Commits one more attempt at each range in `ranges`, and deletes the rows the checkpoint has passed. With
/// `epoch`, only while the lease on `handler` has it: else throws LeaseLost, recording nothing. Without, no
/// lease is checked (a tool or test that runs none).
void record_attempts(pqxx::connection& connection, const std::string& handler, std::optional<std::int64_t> epoch,
                     const std::vector<PositionRange>& ranges);

}  // namespace projectord::checkpoints
