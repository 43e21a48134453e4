#pragma once
/// A lane's AttemptLog (handlers/side_effects/attempt_log.hpp) for one session, which it lasts as long as:
/// projectord.attempts (checkpoints/attempts.hpp) under the checkpoint's name, fenced with the epoch of the
/// lease the session holds. A side effect records while the lane's transaction is open on the target
/// connection, so the journal has a connection of its own, opened on first use: a projection, which never
/// records, costs nothing. That connection keeps the server's synchronous_commit (not the lane's "off"): a
/// recorded attempt survives a crash of the server too.
#include <cstdint>
#include <map>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "handlers/side_effects/attempt_log.hpp"

namespace projectord {

class AttemptJournal final : public handlers::AttemptLog {
 public:
  AttemptJournal(std::string target_url, std::string checkpoint, std::int64_t epoch)
      : target_url_(std::move(target_url)), checkpoint_(std::move(checkpoint)), epoch_(epoch) {}

  std::map<PositionRange, int> recorded() override;
  void record(const std::vector<PositionRange>& ranges) override;

 private:
  pqxx::connection& connection();

  std::string target_url_;
  std::string checkpoint_;
  std::int64_t epoch_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace projectord
