#pragma once
/// The sd_notify protocol (Type=notify): READY=1 once the daemon can do its job, STATUS= lines,
/// WATCHDOG=1 keep-alives, STOPPING=1 on shutdown. Without NOTIFY_SOCKET (not under systemd) every call
/// does nothing.
#include <chrono>
#include <optional>
#include <string>

namespace projectord {

void notify_ready(const std::string& status);
void notify_status(const std::string& status);
void notify_stopping();
void notify_watchdog();

/// WatchdogSec= of the unit (WATCHDOG_USEC), when systemd watches this process.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace projectord
