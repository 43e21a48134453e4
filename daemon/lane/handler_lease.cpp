#include "daemon/lane/handler_lease.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/printable.hpp"
#include "base/stoppable_sleep.hpp"

namespace projectord {

namespace {

// A standby asks again once the holder's lease has expired, but not in a tight loop when it is about to.
constexpr auto kSoonestAsk = std::chrono::milliseconds(10);

}  // namespace

std::unique_ptr<HandlerLease> HandlerLease::take(const std::function<pqxx::connection&()>& connection,
                                                 LeaseKeeper& keeper,
                                                 const std::string& handler, const std::string& checkpoint,
                                                 Listener listener, std::stop_token stop) {
  const LeaseTiming& timing = keeper.timing();
  bool told = false;
  while (true) {
    checkpoints::LeaseTake take =
        checkpoints::take_lease(connection(), checkpoint, keeper.owner(), timing.length, timing.yield());
    if (take.epoch) {
      if (told) spdlog::info("handler={} event=taking_over lease={} epoch={}", handler, checkpoint, *take.epoch);
      if (take.ended_transactions > 0) {
        spdlog::warn("handler={} event=ended_stale_transactions lease={} sessions={}", handler, checkpoint,
                     take.ended_transactions);
      }
      return std::unique_ptr<HandlerLease>(
          new HandlerLease(keeper, checkpoint, std::move(listener), *take.epoch, std::move(take.since)));
    }
    if (!told) {
      spdlog::warn("handler={} event=standby reason=\"another process runs it\" lease={} owner_host={} owner_pid={}",
                   handler, checkpoint, log_value(take.holder->host), take.holder->pid);
      told = true;
    }
    if (listener.standing_by) listener.standing_by(*take.holder);
    sleep_unless_stopped(std::clamp(take.expires_in, kSoonestAsk, timing.renew_interval), stop);
    if (stop.stop_requested()) {
      try {
        checkpoints::leave_standby(connection(), checkpoint, keeper.owner());
      } catch (const std::exception&) {  // the row ages out of the standbys shown
      }
      return nullptr;
    }
  }
}

HandlerLease::HandlerLease(LeaseKeeper& keeper, const std::string& checkpoint, Listener listener, std::int64_t epoch,
                           std::string since)
    : keeper_(keeper), checkpoint_(checkpoint), listener_(std::move(listener)), epoch_(epoch), since_(std::move(since)) {
  ticket_ = keeper_.keep(checkpoint, epoch_,
                         {.renewed = listener_.renewed,
                          .lost =
                              [this] {
                                lost_ = true;
                                if (listener_.ended) listener_.ended();
                              },
                          .hand_over =
                              [this] {
                                handing_over_ = true;
                                if (listener_.ended) listener_.ended();
                              }});
}

HandlerLease::~HandlerLease() { keeper_.give_back(ticket_, release_); }

void HandlerLease::release_now(pqxx::connection& connection) {
  keeper_.give_back(ticket_, false);
  checkpoints::release_lease(connection, checkpoint_, keeper_.owner(), epoch_);
  release_ = false;
}

}  // namespace projectord
