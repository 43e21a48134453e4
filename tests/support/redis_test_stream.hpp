#pragma once
/// Redis fixtures for tests against the shared test Redis (tests/support/test_redis.hpp): an admin
/// connection for what a test does beside the code under test, and a stream key plus an ACL user of one
/// test's own, so that CLIENT LIST and CLIENT KILL USER see that test's connections only. Header-only: it
/// reports through Catch.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "base/result.hpp"
#include "base/redis/client.hpp"
#include "sources/redis/stream_entry_id.hpp"
#include "tests/support/test_redis.hpp"

namespace projectord::testing {

inline const std::string kStreamUserPassword = "reader-secret-pw";

template <class T>
T value_of(Result<T> result) {
  if (!result) FAIL(result.error());
  return std::move(*result);
}

inline void succeeded(const Result<void>& result) {
  if (!result) FAIL(result.error());
}

// A connection for what tests do beside the reader under test: XADD, XDEL, XTRIM, ACL, CLIENT LIST and KILL.
class Admin {
 public:
  Admin() : client_(value_of(run(redis::RedisClient::connect(io_, test_redis_url(), std::chrono::seconds(5))))) {}

  Result<redis::Reply> send(std::vector<std::string> args) { return run(client_->command(std::move(args))); }

  // The reply to a command that must succeed: admin("XADD", key, "*", "type", "T").
  template <class... Args>
  redis::Reply operator()(const Args&... args) {
    auto reply = value_of(send({std::string(args)...}));
    if (reply.is_error()) FAIL("admin: " << reply.text);
    return reply;
  }

 private:
  template <class T>
  T run(boost::asio::awaitable<T> work) {
    std::optional<T> result;
    boost::asio::co_spawn(io_, std::move(work), [&result](std::exception_ptr error, T value) {
      if (error) std::rethrow_exception(error);
      result.emplace(std::move(value));
    });
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!result && io_.run_one_until(deadline) > 0) {
    }
    if (!result) return fail("admin: no reply within 10 s");
    return std::move(*result);
  }

  boost::asio::io_context io_;
  std::unique_ptr<redis::RedisClient> client_;
};

// A stream key and an ACL user (with `acl_rule` added to +@all) of this test alone; both go at the end.
class TestStream {
 public:
  explicit TestStream(std::string acl_rule = "+@all") : key(unique_redis_name("stream")), user(user_name()) {
    admin("ACL", "SETUSER", user, "on", ">" + kStreamUserPassword, "~*", "&*", "+@all", acl_rule);
  }
  ~TestStream() {
    (void)admin.send({"ACL", "DELUSER", user});  // closes the user's connections too
    (void)admin.send({"DEL", key});
  }

  config::RedisSource source(std::string start = "0") const {
    config::RedisSource source;
    source.name = "orders";
    const auto server = test_redis_url();
    source.url = "redis://" + user + ":" + kStreamUserPassword + "@" + server.endpoint() + "/" + std::to_string(server.db);
    source.stream = key;
    source.start = std::move(start);
    return source;
  }

  // Adds `count` entries {type: Added, data: {"n": i}}; returns their ids.
  std::vector<sources::StreamEntryId> add(int count) {
    std::vector<sources::StreamEntryId> ids;
    for (int i = 0; i < count; ++i) {
      const auto reply = admin("XADD", key, "*", "type", "Added", "data", R"({"n":)" + std::to_string(i) + "}");
      const auto id = sources::StreamEntryId::parse(reply.text);
      REQUIRE(id.has_value());
      ids.push_back(*id);
    }
    return ids;
  }

  // How many entries `group` has delivered and not seen acknowledged.
  std::int64_t pending(const std::string& group) { return admin("XPENDING", key, group).elements.at(0).integer; }

  // This test's user's connections: all of them, or those blocked in a command.
  int connections(bool blocked_only = false) {
    std::istringstream lines(admin("CLIENT", "LIST").text);
    int count = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.find(" user=" + user + " ") == std::string::npos) continue;
      const auto flags = line.find(" flags=");
      const auto end = line.find(' ', flags + 1);
      if (!blocked_only || line.substr(flags, end - flags).find('b') != std::string::npos) ++count;
    }
    return count;
  }

  Admin admin;
  const std::string key;
  const std::string user;

 private:
  // unique_redis_name() separates with ':', which in a URL would end the user name.
  static std::string user_name() {
    auto name = unique_redis_name("reader");
    std::replace(name.begin(), name.end(), ':', '-');
    return name;
  }
};

}  // namespace projectord::testing
