#include "daemon/lane/handler_lock.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <pqxx/nontransaction>

#include "base/stoppable_sleep.hpp"

namespace projectord {

namespace {

// The advisory lock class of handler locks (the other key is the hash of the checkpoint's name), and how often
// a standby asks for the lock.
constexpr int kHandlerLockClass = 0x70726f6a;  // "proj"
constexpr auto kStandbyPoll = std::chrono::milliseconds(500);

}  // namespace

bool hold_handler_lock(pqxx::connection& connection, const std::string& handler, const std::string& checkpoint,
                       std::stop_token stop, const std::function<void()>& on_standby) {
  bool told = false;
  while (true) {
    pqxx::nontransaction txn(connection);
    const pqxx::result locked =
        txn.exec_params("SELECT pg_try_advisory_lock($1, hashtext($2))", kHandlerLockClass, checkpoint);
    if (locked[0][0].as<bool>()) break;
    if (!told) {
      spdlog::warn("handler={} event=standby reason=\"another process runs it\" lock={}", handler, checkpoint);
      on_standby();
      told = true;
    }
    sleep_unless_stopped(kStandbyPoll, stop);
    if (stop.stop_requested()) return false;
  }
  if (told) spdlog::info("handler={} event=taking_over", handler);
  return true;
}

}  // namespace projectord
