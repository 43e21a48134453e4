#include "daemon/lane/late_rows.hpp"

#include <spdlog/spdlog.h>

namespace projectord {

Step LateRows::apply(Position checkpoint, const Steps& steps) {
  bool holes_changed = false;
  std::vector<SourceRow> rows = source_.late_rows(holes_changed);
  if (rows.empty() && !holes_changed) return std::nullopt;
  if (const Step end = steps.make_room()) return end;
  for (SourceRow& row : rows) {
    spdlog::warn("handler={} event=late_arrival position={} checkpoint={}", handler_, row.position, checkpoint);
    board_.update([](LaneStatus& s) { ++s.late_arrivals; });
    std::vector<SourceRow> one;
    one.push_back(std::move(row));
    if (const Step end = steps.apply(one)) return end;
  }
  // Only fewer holes to watch: stored with the checkpoint, which stays where it is.
  if (rows.empty()) steps.store_holes();
  return std::nullopt;
}

}  // namespace projectord
