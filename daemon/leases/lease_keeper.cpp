#include "daemon/leases/lease_keeper.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <memory>
#include <pqxx/connection>
#include <set>
#include <utility>

#include "base/postgres/conninfo.hpp"
#include "base/postgres/errors.hpp"
#include "base/postgres/session.hpp"
#include "base/printable.hpp"
#include "daemon/leases/lease_spread.hpp"

namespace projectord {

namespace {

// libpq's shortest: the keeper connects at most this long, and so holds up a stop at most this long.
constexpr std::chrono::seconds kConnectTimeout(2);

// Standbys ask at least every renew interval, shorter than a lease: one not seen for two leases is gone.
std::chrono::milliseconds standby_window(const LeaseTiming& timing) { return 2 * timing.length; }

}  // namespace

/// What one round works on, copied under the mutex so that the database calls run without it.
struct LeaseKeeper::Round {
  std::vector<std::string> handlers;
  std::vector<checkpoints::HeldLease> kept;
  std::set<std::string> handing_over;
  std::vector<checkpoints::HeldLease> releases;
};

LeaseKeeper::LeaseKeeper(std::string target_url, checkpoints::LeaseOwner owner, LeaseTiming timing)
    : target_url_(std::move(target_url)),
      owner_(std::move(owner)),
      timing_(timing),
      thread_([this](std::stop_token stop) { keep_until(stop); }) {}

LeaseKeeper::~LeaseKeeper() = default;

void LeaseKeeper::run_handlers(std::vector<std::string> names) {
  const std::lock_guard lock(mutex_);
  handlers_ = std::move(names);
  announce_now_ = true;
  wake_.notify_all();
}

LeaseKeeper::Ticket LeaseKeeper::keep(const std::string& name, std::int64_t epoch, Listener listener) {
  const std::lock_guard lock(mutex_);
  const Ticket ticket = next_ticket_++;
  kept_.emplace(ticket, Kept{{name, epoch}, std::move(listener)});
  return ticket;
}

void LeaseKeeper::give_back(Ticket ticket, bool release) {
  const std::lock_guard lock(mutex_);
  const auto kept = kept_.find(ticket);
  if (kept == kept_.end()) return;
  if (release) {
    to_release_.push_back(kept->second.lease);
    wake_.notify_all();
  }
  kept_.erase(kept);
}

void LeaseKeeper::keep_until(std::stop_token stop) {
  // A stop shuts down the socket of a round in flight, which ends the call with a broken connection.
  std::mutex socket_mutex;
  int socket = -1;
  bool in_call = false;
  std::unique_ptr<pqxx::connection> connection;
  const auto calling = [&](bool on) {
    const std::lock_guard lock(socket_mutex);
    in_call = on;
  };
  const std::stop_callback interrupt(stop, [&] {
    const std::lock_guard lock(socket_mutex);
    if (in_call && socket >= 0) ::shutdown(socket, SHUT_RDWR);
  });
  const auto connected = [&]() -> pqxx::connection& {
    if (!connection) {
      auto opened = std::make_unique<pqxx::connection>(postgres::with_keepalives(target_url_) +
                                                       " connect_timeout=" + std::to_string(kConnectTimeout.count()));
      postgres::prepare_session(*opened, "lease-keeper");
      const std::lock_guard lock(socket_mutex);
      connection = std::move(opened);
      socket = connection->sock();
    }
    return *connection;
  };
  const auto take_round = [&] {
    Round round;
    const std::lock_guard lock(mutex_);
    round.handlers = handlers_;
    for (const auto& [ticket, kept] : kept_) {
      round.kept.push_back(kept.lease);
      if (kept.handing_over) round.handing_over.insert(kept.lease.name);
    }
    round.releases.swap(to_release_);
    announce_now_ = false;
    return round;
  };
  const auto run_safely = [&](Round& round) {
    try {
      pqxx::connection& open = connected();
      calling(true);
      run_round(open, round);
      calling(false);
    } catch (const std::exception& error) {
      calling(false);
      // The next round reconnects; until a lease expires nobody else can take it, and after that the fenced
      // checkpoint stops its lane committing.
      {
        const std::lock_guard lock(socket_mutex);
        socket = -1;
        connection.reset();
      }
      // A round the stop cut short failed by design: the last round below does what is left.
      if (stop.stop_requested()) return;
      spdlog::warn("event=lease_renewal_failed leases={} error={}", round.kept.size(),
                   log_value(postgres::error_text(error)));
    }
  };

  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, timing_.renew_interval, [&] { return !to_release_.empty() || announce_now_; });
    }
    if (stop.stop_requested()) break;
    Round round = take_round();
    run_safely(round);
  }

  // The lanes have ended: this process leaves the spread, so that no standby leaves a lease to it, and what
  // the lanes handed back goes.
  Round last = take_round();
  try {
    pqxx::connection& open = connected();
    checkpoints::withdraw_process(open, owner_);
    for (const auto& lease : last.releases) checkpoints::release_lease(open, lease.name, owner_, lease.epoch);
  } catch (const std::exception& error) {
    spdlog::warn("event=lease_release_failed leases={} error={}", last.releases.size(),
                 log_value(postgres::error_text(error)));
  }
}

void LeaseKeeper::run_round(pqxx::connection& connection, Round& round) {
  for (const auto& lease : round.releases) {
    checkpoints::release_lease(connection, lease.name, owner_, lease.epoch);
    spdlog::info("event=lease_released lease={} epoch={}", lease.name, lease.epoch);
  }
  if (round.handlers.empty() && round.kept.empty()) return;
  checkpoints::announce_process(connection, owner_, round.handlers, timing_.length);
  const std::vector<std::string> renewed = checkpoints::renew_leases(connection, owner_, round.kept, timing_.length);
  const std::set<std::string> still_held(renewed.begin(), renewed.end());
  const auto standbys = checkpoints::lease_standbys(connection, renewed, standby_window(timing_));
  const std::vector<std::string> hand_over =
      leases_to_hand_over(owner_.id, checkpoints::live_processes(connection), round.handing_over);

  // Sets, not scans: a process may hold hundreds of leases.
  std::set<std::pair<std::string, std::int64_t>> in_round;
  for (const checkpoints::HeldLease& held : round.kept) in_round.emplace(held.name, held.epoch);
  const std::set<std::string> to_hand_over(hand_over.begin(), hand_over.end());

  const std::lock_guard lock(mutex_);
  for (auto kept = kept_.begin(); kept != kept_.end();) {
    const checkpoints::HeldLease& lease = kept->second.lease;
    if (!in_round.contains({lease.name, lease.epoch})) {
      ++kept;
      continue;
    }
    if (!still_held.contains(lease.name)) {
      spdlog::warn("event=lease_lost lease={} epoch={}", lease.name, lease.epoch);
      if (kept->second.listener.lost) kept->second.listener.lost();
      kept = kept_.erase(kept);
      continue;
    }
    if (kept->second.listener.renewed) kept->second.listener.renewed(standbys.at(lease.name));
    if (!kept->second.handing_over && to_hand_over.contains(lease.name)) {
      spdlog::info("event=handing_over lease={} epoch={} reason=spread", lease.name, lease.epoch);
      kept->second.handing_over = true;
      if (kept->second.listener.hand_over) kept->second.listener.hand_over();
    }
    ++kept;
  }
}

}  // namespace projectord
