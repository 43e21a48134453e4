#include "daemon/logging/journal_sink.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "daemon/logging/journal_fields.hpp"

namespace projectord::logging {
namespace {

template <class Number>
bool parse_decimal(std::string_view text, Number& number) {
  unsigned long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return false;
  number = static_cast<Number>(value);
  return static_cast<unsigned long long>(number) == value;
}

}  // namespace

std::optional<JournalStream> parse_journal_stream(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  JournalStream stream;
  if (!parse_decimal(text.substr(0, colon), stream.device) || !parse_decimal(text.substr(colon + 1), stream.inode)) {
    return std::nullopt;
  }
  return stream;
}

bool stderr_is_journal() {
  const char* variable = std::getenv("JOURNAL_STREAM");
  if (variable == nullptr) return false;
  const auto stream = parse_journal_stream(variable);
  struct stat status {};
  if (!stream || ::fstat(STDERR_FILENO, &status) != 0) return false;
  return status.st_dev == stream->device && status.st_ino == stream->inode;
}

void send_to_journal(const std::vector<std::string>& fields) {
  std::vector<iovec> parts;
  parts.reserve(fields.size());
  for (const std::string& field : fields) parts.push_back({const_cast<char*>(field.data()), field.size()});
  sd_journal_sendv(parts.data(), static_cast<int>(parts.size()));
}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg) {
  sender_(journal_fields(msg.level, std::string_view(msg.payload.data(), msg.payload.size())));
}

}  // namespace projectord::logging
