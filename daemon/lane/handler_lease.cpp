#include "daemon/lane/handler_lease.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>

#include "base/postgres/conninfo.hpp"
#include "base/postgres/errors.hpp"
#include "base/postgres/session.hpp"
#include "base/printable.hpp"
#include "base/stoppable_sleep.hpp"

namespace projectord {

namespace {

// libpq's shortest: a lease's renewal connects at most this long, and so holds up a stop at most this long.
constexpr std::chrono::seconds kConnectTimeout(2);

// A standby asks again once the holder's lease has expired, but not in a tight loop when it is about to.
constexpr auto kSoonestAsk = std::chrono::milliseconds(10);

// Standbys ask at least every renew interval, shorter than a lease: one not seen for two leases is gone.
std::chrono::milliseconds standby_window(const LeaseTiming& timing) { return 2 * timing.length; }

}  // namespace

std::unique_ptr<HandlerLease> HandlerLease::take(pqxx::connection& connection, Terms terms, Listener listener,
                                                 std::stop_token stop) {
  bool told = false;
  while (true) {
    checkpoints::LeaseTake take = checkpoints::take_lease(connection, terms.checkpoint, terms.owner, terms.timing.length);
    if (take.epoch) {
      if (told) {
        spdlog::info("handler={} event=taking_over lease={} epoch={}", terms.handler, terms.checkpoint, *take.epoch);
      }
      return std::unique_ptr<HandlerLease>(
          new HandlerLease(std::move(terms), std::move(listener), *take.epoch, std::move(take.since)));
    }
    if (!told) {
      spdlog::warn("handler={} event=standby reason=\"another process runs it\" lease={} owner_host={} owner_pid={}",
                   terms.handler, terms.checkpoint, log_value(take.holder->host), take.holder->pid);
      told = true;
    }
    if (listener.standing_by) listener.standing_by(*take.holder);
    sleep_unless_stopped(std::clamp(take.expires_in, kSoonestAsk, terms.timing.renew_interval), stop);
    if (stop.stop_requested()) {
      try {
        checkpoints::leave_standby(connection, terms.checkpoint, terms.owner);
      } catch (const std::exception&) {  // the row ages out of the standbys shown
      }
      return nullptr;
    }
  }
}

HandlerLease::HandlerLease(Terms terms, Listener listener, std::int64_t epoch, std::string since)
    : terms_(std::move(terms)),
      listener_(std::move(listener)),
      epoch_(epoch),
      since_(std::move(since)),
      renewer_([this](std::stop_token stop) { renew_until(stop); }) {}

HandlerLease::~HandlerLease() = default;

void HandlerLease::renew_until(std::stop_token stop) {
  const std::string& handler = terms_.handler;
  const std::string& checkpoint = terms_.checkpoint;
  const checkpoints::LeaseOwner& me = terms_.owner;
  const LeaseTiming& timing = terms_.timing;
  // The lane waits for this thread when it ends, so nothing here may block a stop for long on a network gone
  // silent (nothing answers, nothing resets): a connect gives up after kConnectTimeout, and the stop shuts down
  // the socket of a renewal in flight, which ends the call with a broken connection.
  std::mutex socket_mutex;
  int socket = -1;
  bool in_call = false;
  std::unique_ptr<pqxx::connection> connection;
  const auto drop_connection = [&] {
    const std::lock_guard lock(socket_mutex);
    socket = -1;
    connection.reset();
  };
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
      auto opened = std::make_unique<pqxx::connection>(postgres::with_keepalives(terms_.target_url) +
                                                       " connect_timeout=" + std::to_string(kConnectTimeout.count()));
      postgres::prepare_session(*opened, terms_.handler + ":lease");
      const std::lock_guard lock(socket_mutex);
      connection = std::move(opened);
      socket = connection->sock();
    }
    return *connection;
  };
  while (true) {
    sleep_unless_stopped(timing.renew_interval, stop);
    if (stop.stop_requested()) break;
    try {
      pqxx::connection& renewing = connected();
      calling(true);
      const struct CallEnds {
        const decltype(calling)& mark;
        ~CallEnds() { mark(false); }
      } call_ends{calling};
      if (!checkpoints::renew_lease(renewing, checkpoint, me, epoch_, timing.length)) {
        spdlog::warn("handler={} event=lease_lost lease={} epoch={}", handler, checkpoint, epoch_);
        lost_ = true;
        if (listener_.lost) listener_.lost();
        return;
      }
      if (listener_.renewed) listener_.renewed(checkpoints::lease_standbys(renewing, checkpoint, standby_window(timing)));
    } catch (const std::exception& error) {
      // The next renewal reconnects; until the lease expires nobody else can take it, and after that the
      // fenced checkpoint stops this process committing.
      drop_connection();
      spdlog::warn("handler={} event=lease_renewal_failed lease={} error={}", handler, checkpoint,
                   log_value(postgres::error_text(error)));
    }
  }
  if (!release_) return;
  try {
    checkpoints::release_lease(connected(), checkpoint, me, epoch_);
    spdlog::info("handler={} event=lease_released lease={} epoch={}", handler, checkpoint, epoch_);
  } catch (const std::exception& error) {
    spdlog::warn("handler={} event=lease_release_failed lease={} error={}", handler, checkpoint,
                 log_value(postgres::error_text(error)));
  }
}

}  // namespace projectord
