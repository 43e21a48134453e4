#pragma once
/// A Redis server of one test's own, for what the shared test Redis must not suffer: being stopped and
/// started again. It listens on a Unix socket only (no port to collide with), in a temporary directory,
/// with an append-only file so that a restart keeps the streams.
///
/// Contract: the constructor starts it and returns once it answers PING (throws otherwise); stop() shuts it
/// down (saving), start() starts it again on the same socket and data; the destructor stops it and removes
/// the directory.
#include <memory>
#include <string>

#include "tests/support/daemon_process.hpp"

namespace projectord::testing {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  void start();
  void stop();

  /// unix:///.../redis.sock, as a source's url.
  std::string url() const { return "unix://" + socket_; }
  /// Runs redis-cli against it and returns what it printed (trailing newline removed).
  std::string cli(const std::vector<std::string>& args) const;

 private:
  std::string dir_;
  std::string socket_;
  std::unique_ptr<DaemonProcess> process_;
};

}  // namespace projectord::testing
