#include "tests/support/postgres_server.hpp"

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "tests/support/daemon_process.hpp"
#include "tests/support/free_port.hpp"

namespace projectord::testing {

namespace {

using namespace std::chrono_literals;

std::string server_bindir() {
  std::string bindir = run_command({"pg_config", "--bindir"}).output;
  while (!bindir.empty() && bindir.back() == '\n') bindir.pop_back();
  if (!std::filesystem::exists(bindir + "/initdb")) bindir = "/usr/lib/postgresql/15/bin";
  if (!std::filesystem::exists(bindir + "/initdb")) {
    throw std::runtime_error("PostgresServer: initdb not found (is postgresql-15 installed?)");
  }
  return bindir;
}

// A short path under /tmp: the postgres user must reach it, and /tmp is traversable by everyone.
std::string make_postgres_dir() {
  std::string pattern = "/tmp/projectord-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("PostgresServer: mkdtemp failed");
  if (::geteuid() == 0) {
    const passwd* owner = ::getpwnam("postgres");
    if (owner == nullptr) throw std::runtime_error("PostgresServer: running as root and no postgres user");
    if (::chown(pattern.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
      throw std::runtime_error("PostgresServer: cannot give " + pattern + " to the postgres user");
    }
  }
  return pattern;
}

}  // namespace

PostgresServer::PostgresServer() : bindir_(server_bindir()), dir_(make_postgres_dir()) {
  run("initdb", {"-D", dir_ + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"});
  // Appended settings win over initdb's. An immediate stop is a crash of the server, not of the machine:
  // what was written survives without fsync.
  std::ofstream(dir_ + "/data/postgresql.conf", std::ios::app)
      << "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = off\nfull_page_writes = off\n"
         "shared_buffers = 32MB\nmax_connections = 50\n";
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_loopback_port();
    if (try_start()) return;
  }
  std::ifstream log(dir_ + "/postgres.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  throw std::runtime_error("PostgresServer: the server did not start: " + text);
}

PostgresServer::~PostgresServer() {
  try {
    stop_immediately();
  } catch (const std::exception&) {  // a destructor must not throw; the directory goes anyway
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void PostgresServer::start() {
  if (!try_start()) throw std::runtime_error("PostgresServer: the server did not start again on port " +
                                             std::to_string(port_));
}

void PostgresServer::stop_immediately() {
  if (!running_) return;
  run("pg_ctl", {"-D", dir_ + "/data", "-m", "immediate", "-w", "stop"});
  running_ = false;
}

std::string PostgresServer::url() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

void PostgresServer::run(const std::string& program, const std::vector<std::string>& args) const {
  std::vector<std::string> command;
  if (::geteuid() == 0) command = {"runuser", "-u", "postgres", "--"};
  command.push_back(bindir_ + "/" + program);
  command.insert(command.end(), args.begin(), args.end());
  const RunResult result = run_command(command, {}, 120s);
  if (result.exit_code != 0) {
    throw std::runtime_error("PostgresServer: " + program + " failed (" + std::to_string(result.exit_code) +
                             "): " + result.output);
  }
}

// pg_ctl -w returns once the server accepts connections, or fails once the postmaster died (a port taken).
bool PostgresServer::try_start() {
  try {
    run("pg_ctl", {"-D", dir_ + "/data", "-l", dir_ + "/postgres.log", "-o", "-p " + std::to_string(port_), "-w",
                   "-t", "120", "start"});
  } catch (const std::runtime_error&) {
    return false;
  }
  running_ = true;
  return true;
}

}  // namespace projectord::testing
