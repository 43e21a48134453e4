#include "daemon/partition_lanes.hpp"

namespace projectord {

std::string partition_lane_name(std::string_view handler, std::int64_t index) {
  return std::string(handler) + "/" + std::to_string(index);
}

config::Config partition_lanes(const config::Config& config) {
  config::Config lanes = config;
  lanes.handlers.clear();
  for (const auto& [name, handler] : config.handlers) {
    if (handler.partitions <= 1) {
      lanes.handlers.emplace(name, handler);
      continue;
    }
    for (std::int64_t index = 0; index < handler.partitions; ++index) {
      config::Handler lane = handler;
      lane.name = partition_lane_name(name, index);
      lane.partition = config::Partition{name, index, handler.partitions};
      lanes.handlers.emplace(lane.name, std::move(lane));
    }
  }
  return lanes;
}

std::vector<std::string> lanes_named(const config::Config& config, std::string_view name) {
  if (const auto lane = config.handlers.find(std::string(name)); lane != config.handlers.end()) return {lane->first};
  std::vector<std::string> lanes;
  for (const auto& [lane_name, handler] : config.handlers) {
    if (handler.partition && handler.partition->handler == name) lanes.push_back(lane_name);
  }
  return lanes;
}

}  // namespace projectord
