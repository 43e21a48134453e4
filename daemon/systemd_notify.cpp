#include "daemon/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

namespace projectord {

namespace {

// sd_notify reports failure to send, which changes nothing for the daemon: systemd would time out on a
// missing READY and say so itself.
void send(const std::string& message) { static_cast<void>(sd_notify(0, message.c_str())); }

}  // namespace

void notify_ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }
void notify_status(const std::string& status) { send("STATUS=" + status); }
void notify_stopping() { send("STOPPING=1"); }

}  // namespace projectord
