#pragma once
/// A PostgreSQL 15 server of one test's own, for what the shared test server must not suffer: being stopped
/// with `pg_ctl stop -m immediate` (a crash, as far as its clients can tell) and started again. It listens on
/// a free port of 127.0.0.1 only (no Unix socket), trusts every local connection, and runs with fsync off:
/// an immediate stop loses nothing the operating system already holds, and a test needs no more.
///
/// Contract: the constructor runs initdb into a fresh temporary directory and starts the server, returning
/// once it accepts connections (throws std::runtime_error with the server's log otherwise). As root, initdb
/// and the server run as the `postgres` system user (both refuse root). stop_immediately() ends it at once;
/// start() starts it again on the same port and data, returning once it accepts connections (after crash
/// recovery). The destructor stops it and removes the directory.
#include <string>
#include <vector>

namespace projectord::testing {

class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  void start();
  void stop_immediately();

  /// Keyword/value conninfo of its `postgres` database as the superuser `postgres`.
  std::string url() const;
  unsigned short port() const { return port_; }

 private:
  /// Runs one of the server's programs (as the postgres user when this process is root); throws with its
  /// output when it fails.
  void run(const std::string& program, const std::vector<std::string>& args) const;
  bool try_start();

  std::string bindir_;
  std::string dir_;
  unsigned short port_ = 0;
  bool running_ = false;
};

}  // namespace projectord::testing
