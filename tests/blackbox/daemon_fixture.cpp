#include "tests/blackbox/daemon_fixture.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace projectord::testing::blackbox {

using namespace std::chrono_literals;

std::string demo_config(const std::string& suffix, const std::string& source_extra, const std::string& codec) {
  return "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n"
         "[sources.shop]\npreset = \"eventsourcing_django\"\napplication_name = \"Shop\"\n"
         "codec = \"" + codec + "\"\n" +
         source_extra + "\n[handlers.users" + suffix + "]\nkind = \"users\"\ntable = \"user_projection" + suffix +
         "\"\n\n"
         "[handlers.user_log" +
         suffix + "]\nkind = \"event_log\"\ntable = \"user_event_log" + suffix + "\"\non_error = \"dead_letter\"\n";
}

std::string demo_copies(int copies, const std::string& source_extra) {
  std::string config = demo_config("_0", source_extra);
  for (int copy = 1; copy < copies; ++copy) {
    const std::string more = demo_config("_" + std::to_string(copy));
    config += more.substr(more.find("\n[handlers."));
  }
  return config;
}

std::int64_t inexact_copies(const TestDatabase& db, int copies) {
  std::int64_t inexact = 0;
  for (int copy = 0; copy < copies; ++copy) {
    const std::string suffix = "_" + std::to_string(copy);
    const bool log_exact = db.query_int("SELECT (count(*) = (SELECT max(id) FROM stored_events) AND"
                                        " count(DISTINCT global_position) = count(*))::int FROM user_event_log" +
                                        suffix) == 1;
    const bool users_exact = copy == 0 || users_differences(db, "user_projection_0", "user_projection" + suffix) == 0;
    if (!log_exact || !users_exact) ++inexact;
  }
  return inexact;
}

std::string closed_registrations_handler() {
  return "\n[handlers.registrations]\nkind = \"sql\"\ntypes = [\"UserRegistered\"]\non_error = \"dead_letter\"\n"
         "max_attempts = 1\nsetup = \"CREATE TABLE IF NOT EXISTS registrations (position bigint PRIMARY KEY,"
         " CONSTRAINT closed CHECK (false))\"\n[[handlers.registrations.statements]]\non = \"UserRegistered\"\n"
         "sql = \"INSERT INTO registrations (position) VALUES ($1)\"\nparams = [\"position\"]\n";
}

std::unique_ptr<DaemonProcess> start_daemon(const TestDatabase& db, const std::string& config) {
  return std::make_unique<DaemonProcess>(std::vector<std::string>{kBinary, "--config", config, "run"}, env_for(db));
}

std::int64_t checkpoint(const TestDatabase& db, const std::string& key) {
  return db.query_int("SELECT coalesce((SELECT position FROM projectord.checkpoints WHERE handler = '" + key +
                      "'), -1)");
}

std::int64_t leases_held(const TestDatabase& db, const DaemonProcess& daemon) {
  return db.query_int("SELECT count(*) FROM projectord.leases WHERE pid = " + std::to_string(daemon.pid()) +
                      " AND expires_at > now() AND name NOT LIKE '%:rebuild'");
}

std::string with_http(const std::string& config, const std::string& lines) {
  const std::string listen = "listen = \"127.0.0.1:0\"\n";
  std::string text = config;
  text.replace(text.find(listen), listen.size(), listen + lines);
  return text;
}

std::string with_max_connections(const std::string& config, int connections) {
  std::string text = config;
  text.insert(text.find("\n[http]"), "max_connections = " + std::to_string(connections) + "\n");
  return text;
}

std::string with_fold_memory(const std::string& config, const std::string& size) {
  const std::string users = "kind = \"users\"\n";
  std::string text = config;
  text.insert(text.find(users) + users.size(), "fold_memory = \"" + size + "\"\n");
  return text;
}

std::string with_admin_token(const std::string& config) {
  return with_http(config, "admin_token = \"" + kAdminToken + "\"\n");
}

std::string write_file(const std::string& name, const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / ("projectord-test-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

void write_events(const TestDatabase& db, int events, int per_transaction) {
  const auto result = run_command({kWriter, "--url", db.url(), "--events", std::to_string(events), "--zlib",
                                   "--per-transaction", std::to_string(per_transaction)});
  REQUIRE(result.exit_code == 0);
}

std::map<std::string, std::string> env_for(const TestDatabase& db) { return {{"TEST_DATABASE_URL", db.url()}}; }

std::map<std::string, std::string> env_as(const LoginRole& role, const TestDatabase& db) {
  return {{"TEST_DATABASE_URL", role.url_for(db.url())}};
}

void grant_printed(const TestDatabase& db, const std::string& config, const LoginRole& role) {
  db.exec("REVOKE ALL ON DATABASE " + db.name() + " FROM PUBLIC; REVOKE ALL ON SCHEMA public FROM PUBLIC");
  const auto printed = run_command({kBinary, "--config", config, "migrate", "--print-grants", role.name()}, env_for(db));
  REQUIRE(printed.exit_code == 0);
  std::istringstream lines(printed.output);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK((line.starts_with("-- ") || line.starts_with("GRANT ") || line.starts_with("ALTER TABLE ")));
  }
  db.exec(printed.output);
}

std::int64_t users_differences(const TestDatabase& db, const std::string& a, const std::string& b) {
  const std::string columns =
      "user_id, username, email, first_name, last_name, phone, is_active, created_at, deactivated_at,"
      " current_version, last_event_processed";
  return db.query_int("SELECT count(*) FROM ((SELECT " + columns + " FROM " + a + " EXCEPT SELECT " + columns +
                      " FROM " + b + ") UNION ALL (SELECT " + columns + " FROM " + b + " EXCEPT SELECT " + columns +
                      " FROM " + a + ")) d");
}

unsigned short http_port(const DaemonProcess& daemon) {
  const std::string log = daemon.log();
  const std::string marker = "event=http_listening listen=127.0.0.1:0 port=";
  const auto at = log.find(marker);
  return at == std::string::npos ? 0 : static_cast<unsigned short>(std::stoi(log.substr(at + marker.size())));
}

std::int64_t head(const TestDatabase& db) { return db.query_int("SELECT max(id) FROM stored_events"); }

std::int64_t checkpoints_at_head(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE position = (SELECT max(id) FROM stored_events)");
}

std::int64_t logged_events(const TestDatabase& db) { return db.query_int("SELECT count(*) FROM user_event_log"); }

std::string migrated(const TestDatabase& db, const std::string& name, const std::string& config_text) {
  const std::string config = write_file(name, config_text);
  REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env_for(db)).exit_code == 0);
  return config;
}

int exit_code_after(DaemonProcess& daemon, int signal) {
  daemon.signal(signal);
  return daemon.wait_exit(20s).value_or(-1);
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++count;
  return count;
}

}  // namespace projectord::testing::blackbox
