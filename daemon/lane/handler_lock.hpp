#pragma once
/// One process runs a handler at a time: another stands by on a session-level advisory lock and takes over
/// as soon as the first one's session ends (a crash, a stop). The checkpoint's compare-and-set alone would
/// stop two processes applying an event twice, but a Redis consumer group would split the entries between
/// them. The lock is keyed by the checkpoint's name, so a rebuild's shadow lane locks apart from the live one.
#include <functional>
#include <pqxx/connection>
#include <stop_token>
#include <string>

namespace projectord {

/// Takes the lock for `checkpoint` on `connection`'s session (held until the session ends), standing by while
/// another session holds it: `on_standby` is called once when it first has to wait. Returns false when `stop`
/// is requested before it has the lock.
bool hold_handler_lock(pqxx::connection& connection, const std::string& handler, const std::string& checkpoint,
                       std::stop_token stop, const std::function<void()>& on_standby);

}  // namespace projectord
