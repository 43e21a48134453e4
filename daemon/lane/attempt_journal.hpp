#pragma once
/// A lane's AttemptLog (handlers/side_effects/attempt_log.hpp) for one session, which it lasts as long as:
/// projectord.attempts (checkpoints/attempts.hpp) under the checkpoint's name, fenced with the epoch of the
/// lease the session holds. A side effect records while the lane's transaction is open on the target
/// connection, so each read or record borrows a connection beside the lane's for its one statement (a nested
/// loan, daemon/lane/lane_connections.hpp): a projection, which never records, costs nothing. That connection
/// keeps the server's synchronous_commit (not the lane's "off"): a recorded attempt survives a crash of the
/// server too.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/lane/lane_connections.hpp"
#include "handlers/side_effects/attempt_log.hpp"

namespace projectord {

class AttemptJournal final : public handlers::AttemptLog {
 public:
  AttemptJournal(LaneConnections& connections, std::string checkpoint, std::int64_t epoch)
      : connections_(connections), checkpoint_(std::move(checkpoint)), epoch_(epoch) {}

  std::map<PositionRange, int> recorded() override;
  void record(const std::vector<PositionRange>& ranges) override;

 private:
  template <class Use>
  auto with_connection(Use use);

  LaneConnections& connections_;
  std::string checkpoint_;
  std::int64_t epoch_;
  std::uint64_t prepared_session_ = 0;  ///< the lent session last given the journal's application_name
};

}  // namespace projectord
