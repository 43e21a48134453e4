#include "daemon/admin_dispatch.hpp"

#include <spdlog/spdlog.h>

#include "base/printable.hpp"
#include "checkpoints/rebuilds.hpp"

namespace projectord {

namespace {

http::AdminOutcome accepted(std::string message, std::optional<Position> position = std::nullopt) {
  return {http::AdminResult::accepted, std::move(message), position};
}

http::AdminOutcome not_allowed_now(std::string why) {
  return {http::AdminResult::not_allowed_now, std::move(why), std::nullopt};
}

}  // namespace

http::AdminOutcome dispatch_admin(const http::AdminRequest& request, LaneRun& live, Lane* rebuild,
                                  const std::function<void()>& start_rebuild) {
  const std::string& handler = request.handler;
  const bool on_halted_lane = request.action == http::AdminAction::skip || request.action == http::AdminAction::resume;
  const bool rebuild_halted = rebuild != nullptr && rebuild->status().state == LaneState::halted;
  const bool live_halted = live.lane->status().state == LaneState::halted;
  Lane& lane = on_halted_lane && rebuild_halted && !live_halted ? *rebuild : *live.lane;
  switch (request.action) {
    case http::AdminAction::pause: {
      const auto done = lane.pause();
      if (!done) return not_allowed_now(done.error());
      spdlog::info("handler={} event=admin action=pause origin={}", handler, log_value(request.origin));
      return accepted("pausing after the transaction in flight");
    }
    case http::AdminAction::resume: {
      const auto done = lane.resume();
      if (!done) return not_allowed_now(done.error());
      spdlog::info("handler={} event=admin action=resume origin={}", handler, log_value(request.origin));
      return accepted("resuming");
    }
    case http::AdminAction::rebuild: {
      if (rebuild != nullptr) return not_allowed_now("handler " + handler + " is being rebuilt already");
      if (const auto refused = rebuild::refusal(live.handler)) return not_allowed_now(*refused);
      start_rebuild();
      return accepted("rebuilding into a shadow copy; the live read model serves until the swap");
    }
    case http::AdminAction::retry:
    case http::AdminAction::drop: {
      const bool retry = request.action == http::AdminAction::retry;
      live.lane->dead_letters(retry ? Lane::DeadLetterAction::retry : Lane::DeadLetterAction::drop,
                              request.dead_letter);
      spdlog::info("handler={} event=admin action={} dead_letter={} origin={}", handler, retry ? "retry" : "drop",
                   request.dead_letter ? std::to_string(*request.dead_letter) : "all", log_value(request.origin));
      return accepted(retry ? "retrying its dead letters between transactions" : "dropping its dead letters");
    }
    case http::AdminAction::reset_checkpoint: {
      if (!request.reset_to) return not_allowed_now("reset-checkpoint needs the position to reset to");
      const auto done = live.lane->reset_checkpoint(*request.reset_to, request.origin);
      if (!done) return not_allowed_now(done.error());
      spdlog::warn("handler={} event=admin action=reset_checkpoint to={} origin={}", handler, *request.reset_to,
                   log_value(request.origin));
      return accepted("resetting the checkpoint between transactions", *request.reset_to);
    }
    case http::AdminAction::skip: {
      const auto skipped = lane.skip();
      if (!skipped) return not_allowed_now(skipped.error());
      spdlog::warn("handler={} event=admin action=skip position={} origin={}", handler, *skipped,
                   log_value(request.origin));
      return accepted("recording the event as a dead letter and going on", *skipped);
    }
  }
  return not_allowed_now("unknown action");
}

}  // namespace projectord
