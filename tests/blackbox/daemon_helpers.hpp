#pragma once
/// What the black-box tests share: the binaries under test, the demo store's config, writing events with the
/// demo writer, migrating, and finding the daemon's HTTP port. Helpers that run a command REQUIRE that it
/// succeeds, so they are called from a test case's own thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

namespace projectord::testing {

inline const std::string kBinary = PROJECTORD_BINARY;
inline const std::string kWriter = PROJECTORD_DEMO_WRITER;

/// A config for the demo store (eventsourcing_django's stored_events, application Shop) with the demo's users
/// and user_log handlers, HTTP on a free loopback port. `suffix` lets one database hold a second, independent
/// set of read models; `source_extra` adds lines to [sources.shop]; `codec` is the payloads' codec.
std::string demo_config(const std::string& suffix = "", const std::string& source_extra = "",
                        const std::string& codec = "eventsourcing_json_zlib");

/// Writes `text` to a file in the temporary directory named after this process and `name`; returns its path.
std::string write_file(const std::string& name, const std::string& text);

/// Appends `events` demo events (zlib'd state) with the demo writer, which creates stored_events if missing.
void write_events(const TestDatabase& db, int events, int per_transaction = 3);

/// The environment a demo config needs: TEST_DATABASE_URL.
std::map<std::string, std::string> env_for(const TestDatabase& db);

/// Writes a config file and runs `projectord migrate` with it; returns the file's path.
std::string migrated(const TestDatabase& db, const std::string& name, const std::string& config_text);

/// The port the daemon's HTTP endpoint bound (listen = 127.0.0.1:0), read from its log; 0 until it says.
unsigned short http_port(const DaemonProcess& daemon);

/// Rows in the demo's event log table.
std::int64_t logged_events(const TestDatabase& db);

/// Sends `signal` and waits for the daemon to exit; -1 when it did not within 20 s.
int exit_code_after(DaemonProcess& daemon, int signal);

}  // namespace projectord::testing
