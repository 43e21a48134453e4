#pragma once
/// The sd_notify protocol (Type=notify): READY=1 once the daemon can do its job, STATUS= lines,
/// STOPPING=1 on shutdown. Without NOTIFY_SOCKET (not under systemd) every call does nothing.
#include <string>

namespace projectord {

void notify_ready(const std::string& status);
void notify_status(const std::string& status);
void notify_stopping();

}  // namespace projectord
