#pragma once
/// How many partitions a handler's checkpoints are kept in. A partitioned handler's lanes (NAME/0 ..
/// NAME/K-1) each hold the position of their own streams, so the checkpoints of one partition count say
/// nothing about another's streams: a lane starting under a count other than the recorded one must not take
/// them as they are.
///
/// A side effect carries on from the least of the old checkpoints in every new partition (the events between
/// go out again, each with its idempotency key: at least once). A projection's read model holds each old
/// partition's events up to that partition's own position, which no new count can continue from: its lanes
/// refuse to start, saying so.
#include <cstdint>
#include <pqxx/transaction>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "config/config.hpp"

namespace projectord::checkpoints {

/// The checkpoint names of `handler` kept in `count` partitions: NAME/0 .. NAME/K-1, or NAME itself for one.
std::vector<std::string> partition_checkpoints(const std::string& handler, std::int64_t count);

/// An SQL condition on `column` that holds for handler $1's checkpoint (or lease) names in any partition count:
/// NAME and NAME/INDEX, each followed by `suffix` (such as a rebuild's ":rebuild").
std::string partition_names_condition(std::string_view column, std::string_view suffix = "");

/// Records that `handler`'s checkpoints are kept in `count` partitions (one: no record).
void record_partitioning(pqxx::work& txn, const std::string& handler, std::int64_t count);

/// Called by each lane of a handler (`lane` its config: NAME or a partition of NAME) in a transaction of its
/// own before it loads its checkpoint: records the handler's partition count where no checkpoint of it exists
/// yet, and brings a side effect's checkpoints to a new count. Errors: a projection whose count changed.
Result<void> adopt_partitioning(pqxx::work& txn, const config::Handler& lane);

}  // namespace projectord::checkpoints
