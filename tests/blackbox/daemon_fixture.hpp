#pragma once
/// What the black-box tests share: the binaries under test, the demo store's config, writing events with the
/// demo writer, and reading the daemon's log and read model.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/login_role.hpp"
#include "tests/support/test_database.hpp"

namespace projectord::testing::blackbox {

inline const std::string kBinary = PROJECTORD_BINARY;
inline const std::string kWriter = PROJECTORD_DEMO_WRITER;

/// A config for the demo store (eventsourcing_django, zlib'd payloads unless `codec` says otherwise) with a
/// `users` handler (on_error stop) and a `user_log` one (dead_letter); `suffix` lets one database hold a
/// second, independent set of read models, `source_extra` adds lines to the source.
std::string demo_config(const std::string& suffix = "", const std::string& source_extra = "",
                        const std::string& codec = "eventsourcing_json_zlib");

/// The demo config with `copies` copies of its two handlers, suffixed _0, _1, ..., each copy with tables of its
/// own; `source_extra` as demo_config's.
std::string demo_copies(int copies, const std::string& source_extra = "");

/// Copies of demo_copies' read models that are not exact: an event log that does not hold every event once, a
/// users model that differs from copy _0's.
std::int64_t inexact_copies(const TestDatabase& db, int copies);

/// A `registrations` sql handler (dead_letter, max_attempts 1) of UserRegistered events whose table refuses
/// every row until its constraint `closed` is dropped: each registration becomes a dead letter until then.
std::string closed_registrations_handler();

/// `config` (with the demo config's `listen = "127.0.0.1:0"` line) with `lines` added to its [http] section.
std::string with_http(const std::string& config, const std::string& lines);

/// `config` (a demo config) with [database] max_connections = `connections`.
std::string with_max_connections(const std::string& config, int connections);

/// The demo config `config` with its `users` handler's fold_memory set to `size` ("1MiB"): a catch-up of the
/// tests' few thousand users then commits several transactions instead of one.
std::string with_fold_memory(const std::string& config, const std::string& size);

/// The admin token with_admin_token configures.
inline const std::string kAdminToken = "blackbox-admin-token";

/// `config` with [http] admin_token = kAdminToken: admin calls and errors' text need it.
std::string with_admin_token(const std::string& config);

/// Writes `text` to a file under the temp directory named after this process and `name`; returns its path.
std::string write_file(const std::string& name, const std::string& text);

/// Appends `events` demo events with the demo writer, `per_transaction` in each transaction.
void write_events(const TestDatabase& db, int events, int per_transaction = 3);

/// The environment the demo config expects.
std::map<std::string, std::string> env_for(const TestDatabase& db);

/// Rows of a users read model that differ from another's.
std::int64_t users_differences(const TestDatabase& db, const std::string& a, const std::string& b);

/// The port the daemon's HTTP endpoint bound (listen = 127.0.0.1:0), read from its log; 0 until it says.
unsigned short http_port(const DaemonProcess& daemon);

/// The highest position in the demo store.
std::int64_t head(const TestDatabase& db);

/// Checkpoints at the demo store's highest position: the lanes at the head.
std::int64_t checkpoints_at_head(const TestDatabase& db);

/// Rows in the demo's event log table.
std::int64_t logged_events(const TestDatabase& db);

/// Writes a config file and runs `projectord migrate` with it; returns the file's path.
std::string migrated(const TestDatabase& db, const std::string& name, const std::string& config_text);

/// `projectord --config CONFIG run` with the environment the demo config expects.
std::unique_ptr<DaemonProcess> start_daemon(const TestDatabase& db, const std::string& config);

/// The position of checkpoint `key` (a handler, a partition NAME/INDEX, a rebuild's NAME:rebuild); -1: none.
std::int64_t checkpoint(const TestDatabase& db, const std::string& key);

/// The live leases `daemon`'s process holds, a rebuild's shadow leases left out.
std::int64_t leases_held(const TestDatabase& db, const DaemonProcess& daemon);

/// The environment of the demo config, connecting as `role`.
std::map<std::string, std::string> env_as(const LoginRole& role, const TestDatabase& db);

/// Leaves `role` only what `projectord migrate --print-grants` lists for `config`: PUBLIC's defaults on the
/// database and schema public go.
void grant_printed(const TestDatabase& db, const std::string& config, const LoginRole& role);

/// Sends `signal` and waits for the daemon to exit; -1 when it did not within 20 s.
int exit_code_after(DaemonProcess& daemon, int signal);

/// How often `part` occurs in `text` (a log), occurrences not overlapping.
std::size_t occurrences(const std::string& text, const std::string& part);

/// The running daemon's HTTP endpoint, once it has said where it listens.
class Endpoint {
 public:
  /// With a `token`, every request carries it (GETs too: /status shows errors' text only then).
  explicit Endpoint(const DaemonProcess& daemon, std::string token = "") : token_(std::move(token)) {
    REQUIRE(eventually([&] { return http_port(daemon) != 0; }));
    port_ = http_port(daemon);
  }

  /// The deadlines only catch a daemon that stopped answering: a test of how fast it answers passes its own.
  HttpReply get(const std::string& target, std::chrono::milliseconds deadline = std::chrono::seconds(15)) const {
    return http_request("127.0.0.1", port_, "GET", target, deadline, authorization(token_));
  }
  /// `token` overrides the endpoint's own for this call.
  HttpReply post(const std::string& target, const std::string& token = "") const {
    return http_request("127.0.0.1", port_, "POST", target, std::chrono::seconds(15),
                        authorization(token.empty() ? token_ : token));
  }

  /// The /status entry of one handler.
  boost::json::object handler(const std::string& name) const {
    const boost::json::value status = boost::json::parse(get("/status").body);
    for (const auto& entry : status.at("handlers").as_array()) {
      if (entry.at("name").as_string() == name) return entry.as_object();
    }
    return {};
  }
  std::string state(const std::string& name) const {
    const auto entry = handler(name);
    return entry.empty() ? "" : std::string(entry.at("state").as_string());
  }
  std::int64_t position(const std::string& name) const {
    const auto entry = handler(name);
    return entry.empty() ? -1 : entry.at("position").as_int64();
  }

 private:
  static Headers authorization(const std::string& token) {
    Headers headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return headers;
  }

  std::string token_;
  unsigned short port_ = 0;
};

}  // namespace projectord::testing::blackbox
