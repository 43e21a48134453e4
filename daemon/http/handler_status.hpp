#pragma once
/// What the HTTP endpoints report about one handler: its identity and its lane's latest status. Built on
/// demand from the lanes (each `Lane::status()` is a locked copy), so the endpoints never touch a database.
#include <functional>
#include <string>
#include <vector>

#include "daemon/lane.hpp"

namespace projectord::http {

struct HandlerStatus {
  std::string name;
  std::string kind;
  std::string source;
  LaneStatus status;
};

using StatusProvider = std::function<std::vector<HandlerStatus>()>;

}  // namespace projectord::http
