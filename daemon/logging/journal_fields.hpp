#pragma once
/// What the daemon sends to the systemd journal for one record: `MESSAGE=` (the message as written),
/// `PRIORITY=` (syslog's, from the level), `SYSLOG_IDENTIFIER=projectord`, and each of the message's
/// `key=value` fields (daemon/logging/log_fields.hpp) as `KEY=value`, the key uppercased, so that
/// `journalctl -u projectord HANDLER=users EVENT=dead_letter` selects records. A field the journal would not
/// take as a user field (a name over 64 characters) or one that would repeat a field already sent stays in
/// MESSAGE only.
#include <spdlog/common.h>

#include <string>
#include <string_view>
#include <vector>

namespace projectord::logging {

/// syslog's priority for spdlog's level: critical 2, error 3, warn 4, info 6, debug and trace 7.
int journal_priority(spdlog::level::level_enum level);

/// The record's journal fields, each "NAME=value", MESSAGE first.
std::vector<std::string> journal_fields(spdlog::level::level_enum level, std::string_view message);

}  // namespace projectord::logging
