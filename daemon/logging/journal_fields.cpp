#include "daemon/logging/journal_fields.hpp"

#include <algorithm>
#include <cctype>

#include "daemon/logging/log_fields.hpp"

namespace projectord::logging {
namespace {

constexpr std::size_t kMaxFieldName = 64;  // sd-journal refuses longer field names

}  // namespace

int journal_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical: return 2;
    case spdlog::level::err: return 3;
    case spdlog::level::warn: return 4;
    case spdlog::level::info: return 6;
    default: return 7;
  }
}

std::vector<std::string> journal_fields(spdlog::level::level_enum level, std::string_view message) {
  std::vector<std::string> fields{"MESSAGE=" + std::string(message),
                                  "PRIORITY=" + std::to_string(journal_priority(level)),
                                  "SYSLOG_IDENTIFIER=projectord"};
  const auto parsed = parse_log_fields(message);
  if (!parsed) return fields;
  std::vector<std::string> names{"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"};
  for (const LogField& field : *parsed) {
    std::string name = field.key;
    std::ranges::transform(name, name.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    // A SYSLOG_ or CODE_ name would pass for what journald and sd-journal set themselves.
    if (name.size() > kMaxFieldName || name.starts_with("SYSLOG_") || name.starts_with("CODE_") ||
        std::ranges::find(names, name) != names.end()) {
      continue;
    }
    fields.push_back(name + "=" + field.value);
    names.push_back(std::move(name));
  }
  return fields;
}

}  // namespace projectord::logging
