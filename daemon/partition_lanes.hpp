#pragma once
/// A configuration as the supervisor runs it: one lane per handler, and K lanes for a handler with
/// `partitions = K`, named NAME/0 .. NAME/K-1. Each lane of a partitioned handler is a handler of its own to
/// everything downstream (its checkpoint, lease, status, metrics and admin calls), reading only the events
/// of its partition's streams.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace projectord {

/// The lane name of partition `index` of `handler`.
std::string partition_lane_name(std::string_view handler, std::int64_t index);

/// `config` with every partitioned handler replaced by its lanes.
config::Config partition_lanes(const config::Config& config);

/// The lanes of `config` (as partition_lanes made them) that `name` stands for: the lane of that name, else
/// every lane of the partitioned handler of that name; empty: neither.
std::vector<std::string> lanes_named(const config::Config& config, std::string_view name);

}  // namespace projectord
