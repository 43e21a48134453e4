// Logging to the systemd journal with fields. No journal is reachable here: the sink is exercised with a sender
// of the test's own, and sd_journal_sendv itself is not called.
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/printable.hpp"
#include "daemon/logging/journal_fields.hpp"
#include "daemon/logging/journal_sink.hpp"

using projectord::log_value;
using projectord::logging::journal_fields;
using projectord::logging::journal_priority;
using projectord::logging::JournalSink;
using projectord::logging::parse_journal_stream;
using Fields = std::vector<std::string>;

TEST_CASE("a record's journal fields are its message, priority, identifier and uppercased key=value fields") {
  CHECK(journal_fields(spdlog::level::err, "handler=users source=shop event=dead_letter position=42 error=" +
                                               log_value("no \"x\"")) ==
        Fields{"MESSAGE=handler=users source=shop event=dead_letter position=42 error=\"no \\\"x\\\"\"",
               "PRIORITY=3", "SYSLOG_IDENTIFIER=projectord", "HANDLER=users", "SOURCE=shop",
               "EVENT=dead_letter", "POSITION=42", "ERROR=no \"x\""});
}

TEST_CASE("a journal priority is syslog's for the record's level") {
  CHECK(journal_priority(spdlog::level::critical) == 2);
  CHECK(journal_priority(spdlog::level::err) == 3);
  CHECK(journal_priority(spdlog::level::warn) == 4);
  CHECK(journal_priority(spdlog::level::info) == 6);
  CHECK(journal_priority(spdlog::level::debug) == 7);
  CHECK(journal_priority(spdlog::level::trace) == 7);
}

TEST_CASE("a record not made of fields goes to the journal as its message only") {
  CHECK(journal_fields(spdlog::level::info, "some library's words") ==
        Fields{"MESSAGE=some library's words", "PRIORITY=6", "SYSLOG_IDENTIFIER=projectord"});
}

TEST_CASE("a message field cannot pass for a field the journal or the daemon sets") {
  const Fields fields = journal_fields(
      spdlog::level::info, "message=x priority=0 syslog_identifier=sshd syslog_pid=1 code_file=y event=a event=b " +
                               std::string(65, 'k') + "=long");
  CHECK(fields == Fields{"MESSAGE=message=x priority=0 syslog_identifier=sshd syslog_pid=1 code_file=y event=a "
                         "event=b " + std::string(65, 'k') + "=long",
                         "PRIORITY=6", "SYSLOG_IDENTIFIER=projectord", "EVENT=a"});
}

TEST_CASE("the journal sink hands each record's fields to its sender") {
  std::vector<Fields> sent;
  auto sink = std::make_shared<JournalSink>([&](const Fields& fields) { sent.push_back(fields); });
  spdlog::logger logger("journal-test", sink);
  logger.set_level(spdlog::level::info);
  logger.warn("handler={} event=stalled busy_ms={}", "users", 61000);
  logger.debug("handler=users event=not_sent");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0] == Fields{"MESSAGE=handler=users event=stalled busy_ms=61000", "PRIORITY=4",
                          "SYSLOG_IDENTIFIER=projectord", "HANDLER=users", "EVENT=stalled", "BUSY_MS=61000"});
}

TEST_CASE("JOURNAL_STREAM reads as a device and an inode, both decimal") {
  const auto stream = parse_journal_stream("2049:123456");
  REQUIRE(stream.has_value());
  CHECK(stream->device == 2049);
  CHECK(stream->inode == 123456);
  CHECK_FALSE(parse_journal_stream("").has_value());
  CHECK_FALSE(parse_journal_stream("2049").has_value());
  CHECK_FALSE(parse_journal_stream("2049:").has_value());
  CHECK_FALSE(parse_journal_stream("x:1").has_value());
  CHECK_FALSE(parse_journal_stream("1:2:3").has_value());
  CHECK_FALSE(parse_journal_stream("-1:2").has_value());
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names stderr's own device and inode") {
  struct stat status {};
  REQUIRE(::fstat(STDERR_FILENO, &status) == 0);
  const char* saved = std::getenv("JOURNAL_STREAM");
  const std::string kept = saved == nullptr ? "" : saved;
  const std::string own = std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino);
  const std::string other = std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino + 1);

  ::unsetenv("JOURNAL_STREAM");
  CHECK_FALSE(projectord::logging::stderr_is_journal());
  ::setenv("JOURNAL_STREAM", other.c_str(), 1);
  CHECK_FALSE(projectord::logging::stderr_is_journal());
  ::setenv("JOURNAL_STREAM", own.c_str(), 1);
  CHECK(projectord::logging::stderr_is_journal());

  if (saved == nullptr) {
    ::unsetenv("JOURNAL_STREAM");
  } else {
    ::setenv("JOURNAL_STREAM", kept.c_str(), 1);
  }
}
