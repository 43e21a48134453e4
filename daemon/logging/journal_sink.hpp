#pragma once
/// The daemon's log under systemd: each record sent to the journal with its fields (journal_fields.hpp) rather
/// than as a line on stderr, which journald would store as MESSAGE alone. stderr_is_journal tells whether the
/// process runs so: systemd sets JOURNAL_STREAM to the "DEVICE:INODE" of the stream it connected to stderr,
/// and (as sd_journal_print(3) says) it counts only when stderr is still that stream, not a file or pipe a
/// child inherited it through.
#include <spdlog/sinks/base_sink.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace projectord::logging {

struct JournalStream {
  dev_t device = 0;
  ino_t inode = 0;
};

/// JOURNAL_STREAM's "DEVICE:INODE", both decimal; std::nullopt for anything else.
std::optional<JournalStream> parse_journal_stream(std::string_view text);

/// Whether JOURNAL_STREAM names the file stderr is.
bool stderr_is_journal();

/// Sends one record's fields ("NAME=value" each) to the journal.
using JournalSender = std::function<void(const std::vector<std::string>& fields)>;

/// sd_journal_sendv with the fields.
void send_to_journal(const std::vector<std::string>& fields);

/// spdlog's sink handing each record's journal_fields to `sender` (tests pass their own).
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(JournalSender sender = send_to_journal) : sender_(std::move(sender)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  JournalSender sender_;
};

}  // namespace projectord::logging
