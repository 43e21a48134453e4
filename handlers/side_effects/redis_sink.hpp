#pragma once
/// A blocking, pipelined connection to a Redis server for side effects that write to it (redis_publish's
/// XADD, celery's LPUSH), used on the handler's thread. The connection is opened on first use and again
/// after a failure; all commands of one call are sent before the first reply is awaited.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/redis/client.hpp"

namespace projectord::handlers {

/// The events a Redis side effect counts as sent together: a call's commands go out in one write, a thousand
/// of them in a few milliseconds.
constexpr std::size_t kRedisCommandsSentTogether = 1024;

class RedisSink {
 public:
  /// `url` as config takes it; `timeout` bounds the connect and the replies of one call together.
  RedisSink(std::string url, std::chrono::milliseconds timeout);
  ~RedisSink();
  RedisSink(const RedisSink&) = delete;
  RedisSink& operator=(const RedisSink&) = delete;

  /// Checks the URL (Result: its error, without the password).
  static Result<void> check_url(const std::string& url);

  /// One result per command, in order: its reply (an error reply is a Reply of kind error), or why none came
  /// (no connection, lost, timed out; the connection is then dropped and the next call opens a new one).
  std::vector<Result<redis::Reply>> send(std::vector<std::vector<std::string>> commands);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace projectord::handlers
