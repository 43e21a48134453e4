#pragma once
/// One connection to a Redis server on an Asio io_context: hiredis's async context speaks the protocol and
/// owns the socket; Asio waits on the socket's readiness for it. Several commands may be in flight at once
/// (pipelined on the one connection); their replies come back in the order they were sent.
///
/// A Redis error reply (BUSYGROUP, WRONGTYPE, NOGROUP) is a Reply of kind `error`, because callers act on
/// it. A failed Result means the connection is gone (lost, closed with the command in flight, or closed
/// before it was sent): every later command fails too, and the caller makes a new client. Errors name the
/// server (host:port or socket path), never the password.
///
/// Use a client on its io_context's thread only, and destroy it before the io_context.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/redis/url.hpp"

namespace projectord::redis {

/// A reply, owned and free of hiredis types. Arrays nest (XREADGROUP answers arrays of arrays).
struct Reply {
  enum class Kind { nil, integer, string, status, error, array };
  Kind kind = Kind::nil;
  std::int64_t integer = 0;
  std::string text;             ///< bulk string (binary-safe), status (OK, PONG) or error message
  std::vector<Reply> elements;  ///< array

  bool is_error() const { return kind == Kind::error; }
};

class RedisClient {
 public:
  /// Connects over TCP or the Unix socket of `url`, then sends AUTH (when the URL has a password) and
  /// SELECT (when it names a database other than 0). Gives up after `timeout` for all of it together.
  /// Host names are resolved by hiredis, blocking the thread: configure addresses where that matters.
  /// A TCP connection gets base/tcp_keepalive.hpp's keepalives and TCP_USER_TIMEOUT, so that a server that
  /// vanished without closing it fails the commands waiting on it within about a minute.
  static boost::asio::awaitable<Result<std::unique_ptr<RedisClient>>> connect(boost::asio::io_context& io,
                                                                              const RedisUrl& url,
                                                                              std::chrono::milliseconds timeout);

  /// Disconnects; commands in flight complete with a failed Result.
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Sends one command, each argument binary-safe (e.g. {"XADD", "s", "*", "data", bytes}), and returns its
  /// reply. Has no deadline of its own: a blocking command (XREADGROUP BLOCK) waits as long as it says.
  boost::asio::awaitable<Result<Reply>> command(std::vector<std::string> args);

  /// Disconnects now; commands in flight complete with a failed Result. Idempotent.
  void close();

 private:
  struct State;
  explicit RedisClient(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace projectord::redis
