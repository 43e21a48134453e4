// redis::RedisClient against the real Redis of PROJECTORD_TEST_REDIS: replies of every kind, binary data,
// pipelining, errors as replies, and connections that fail, time out, are closed or are lost. Each test runs
// its own io_context on its own thread under a deadline, and names its keys and users uniquely because the
// server is shared by tests running in parallel.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "base/redis/client.hpp"
#include "tests/support/coroutine_test.hpp"
#include "tests/support/test_redis.hpp"

// GCC 12 pairs Asio's coroutine-frame operator delete with the aligned_alloc inlined from its operator new
// and warns; both are Asio's own matched pair (thread_info_base::allocate and deallocate).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using projectord::Result;
using projectord::redis::RedisClient;
using projectord::redis::RedisUrl;
using projectord::redis::Reply;
using projectord::testing::run_coroutine;
using projectord::testing::test_redis_socket;
using projectord::testing::test_redis_url;
using projectord::testing::unique_redis_name;
using Steady = std::chrono::steady_clock;

// The client of a connect that must succeed; fails the test otherwise.
std::unique_ptr<RedisClient> client_of(Result<std::unique_ptr<RedisClient>> connected) {
  if (!connected) FAIL("connect: " << connected.error());
  return std::move(*connected);
}

// Sends a command: `co_await send(client, "XADD", stream, "*", "n", "1")`. Not a coroutine itself: GCC 12
// rejects a braced list in a co_await expression.
template <class... Args>
net::awaitable<Result<Reply>> send(RedisClient& client, const Args&... args) {
  return client.command({std::string(args)...});
}

// The reply to a command that must get one (an error reply is a reply); fails the test otherwise.
Reply reply_of(Result<Reply> result) {
  if (!result) FAIL("no reply: " << result.error());
  return std::move(*result);
}

// Commands sent together, so that they are in flight at once; all() waits until every one has completed.
class Together {
 public:
  explicit Together(net::io_context& io) : done_(io, Steady::time_point::max()) {}

  // Variadic like send() above, for the same reasons.
  template <class... Args>
  void send(RedisClient& client, const Args&... args) {
    ++expected_;
    net::co_spawn(done_.get_executor(), client.command({std::string(args)...}),
                  [this](const std::exception_ptr&, Result<Reply> result) {
                    results.push_back(std::move(result));
                    if (results.size() == expected_) done_.expires_at(Steady::time_point::min());
                  });
  }

  // Completes at once when all have completed already (the timer has expired then).
  auto all() { return done_.async_wait(net::as_tuple(net::use_awaitable)); }

  std::vector<Result<Reply>> results;  ///< in the order they completed

 private:
  std::size_t expected_ = 0;
  net::steady_timer done_;
};

// A loopback port on which nothing listens (a moment ago).
unsigned short closed_port() {
  net::io_context io;
  net::ip::tcp::acceptor probe(io, net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0));
  return probe.local_endpoint().port();
}

RedisUrl on_port(unsigned short port, std::string password = "") {
  RedisUrl url;
  url.host = "127.0.0.1";
  url.port = port;
  url.password = std::move(password);
  return url;
}

}  // namespace

namespace {

net::awaitable<void> ping(net::io_context& io) {
  auto client = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  const auto reply = reply_of(co_await send(*client, "PING"));
  CHECK(reply.kind == Reply::Kind::status);
  CHECK(reply.text == "PONG");
}

}  // namespace

TEST_CASE("the redis client gets the status PONG for PING", "[redis]") {
  run_coroutine([](net::io_context& io) { return ping(io); });
}

namespace {

net::awaitable<void> binary_values(net::io_context& io) {
  auto client = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  const std::string key = unique_redis_name(std::string("bin\0key", 7));
  const std::string value("a\0b\r\n\xff\0", 7);
  const auto set = reply_of(co_await send(*client, "SET", key, value));
  CHECK(set.text == "OK");
  const auto got = reply_of(co_await send(*client, "GET", key));
  CHECK(got.kind == Reply::Kind::string);
  CHECK(got.text == value);
  const auto deleted = reply_of(co_await send(*client, "DEL", key));
  CHECK(deleted.integer == 1);
  const auto gone = reply_of(co_await send(*client, "GET", key));
  CHECK(gone.kind == Reply::Kind::nil);
}

}  // namespace

TEST_CASE("keys and values are binary-safe through the redis client and a missing key is nil", "[redis]") {
  run_coroutine([](net::io_context& io) { return binary_values(io); });
}

namespace {

net::awaitable<void> error_reply(net::io_context& io) {
  auto client = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  const std::string stream = unique_redis_name("stream");
  const auto created = reply_of(co_await send(*client, "XGROUP", "CREATE", stream, "g", "$", "MKSTREAM"));
  CHECK(created.kind == Reply::Kind::status);
  const auto again = reply_of(co_await send(*client, "XGROUP", "CREATE", stream, "g", "$", "MKSTREAM"));
  CHECK(again.is_error());
  CHECK_THAT(again.text, Catch::StartsWith("BUSYGROUP"));
  // The connection is still usable after an error reply.
  const auto deleted = reply_of(co_await send(*client, "DEL", stream));
  CHECK(deleted.integer == 1);
}

}  // namespace

TEST_CASE(
    "the redis client returns a Redis error as an error reply, not a failure: BUSYGROUP on a second XGROUP CREATE",
    "[redis]") {
  run_coroutine([](net::io_context& io) { return error_reply(io); });
}

namespace {

net::awaitable<void> pipelined_stream(net::io_context& io) {
  auto client = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  const std::string stream = unique_redis_name("stream");
  const auto created = reply_of(co_await send(*client, "XGROUP", "CREATE", stream, "g", "$", "MKSTREAM"));
  CHECK(created.text == "OK");

  constexpr int kEntries = 1000;
  Together together(io);
  for (int i = 0; i < kEntries; ++i) together.send(*client, "XADD", stream, "*", "n", std::to_string(i));
  co_await together.all();
  std::vector<std::string> ids;
  for (const auto& result : together.results) {
    if (!result) FAIL("XADD: " << result.error());
    REQUIRE(result->kind == Reply::Kind::string);
    ids.push_back(result->text);
  }
  REQUIRE(ids.size() == kEntries);
  // Redis assigns increasing ids in the order it executes; replies matched to their commands keep it.
  const auto parts = [](const std::string& id) {
    const auto dash = id.find('-');
    return std::pair(std::stoull(id.substr(0, dash)), std::stoull(id.substr(dash + 1)));
  };
  for (std::size_t i = 1; i < ids.size(); ++i) CHECK(parts(ids[i - 1]) < parts(ids[i]));

  const auto read =
      reply_of(co_await send(*client, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1000", "STREAMS", stream, ">"));
  REQUIRE(read.kind == Reply::Kind::array);
  REQUIRE(read.elements.size() == 1);
  CHECK(read.elements[0].elements[0].text == stream);
  const auto& entries = read.elements[0].elements[1].elements;
  REQUIRE(entries.size() == kEntries);
  for (int i = 0; i < kEntries; ++i) {
    CHECK(entries[i].elements[0].text == ids[i]);
    CHECK(entries[i].elements[1].elements[1].text == std::to_string(i));
  }

  std::vector<std::string> ack{"XACK", stream, "g"};
  ack.insert(ack.end(), ids.begin(), ids.end());
  const auto acked = reply_of(co_await client->command(std::move(ack)));
  CHECK(acked.integer == kEntries);
  const auto pending = reply_of(co_await send(*client, "XPENDING", stream, "g"));
  CHECK(pending.elements.at(0).integer == 0);
  reply_of(co_await send(*client, "DEL", stream));
}

}  // namespace

TEST_CASE("1000 XADDs pipelined by the redis client complete in order and XREADGROUP returns them for XACK",
          "[redis]") {
  run_coroutine([](net::io_context& io) { return pipelined_stream(io); });
}

namespace {

net::awaitable<void> select_db(net::io_context& io) {
  auto url = test_redis_url();
  url.db = 5;
  auto client = client_of(co_await RedisClient::connect(io, url, 5s));
  const auto info = reply_of(co_await send(*client, "CLIENT", "INFO"));
  CHECK_THAT(info.text, Catch::Contains(" db=5 "));
}

}  // namespace

TEST_CASE("the redis client selects the database of the URL", "[redis]") {
  run_coroutine([](net::io_context& io) { return select_db(io); });
}

namespace {

net::awaitable<void> unix_socket(net::io_context& io) {
  const auto url = projectord::redis::parse_redis_url("unix://" + test_redis_socket() + "?db=2");
  if (!url) FAIL(url.error());
  auto client = client_of(co_await RedisClient::connect(io, *url, 5s));
  const auto info = reply_of(co_await send(*client, "CLIENT", "INFO"));
  CHECK_THAT(info.text, Catch::Contains(" db=2 "));
}

}  // namespace

TEST_CASE("the redis client connects over a Unix socket and selects the database of the URL", "[redis]") {
  run_coroutine([](net::io_context& io) { return unix_socket(io); });
}

namespace {

net::awaitable<void> refused(net::io_context& io, unsigned short port) {
  const auto client = co_await RedisClient::connect(io, on_port(port, "hunter2"), 5s);
  REQUIRE_FALSE(client.has_value());
  CHECK_THAT(client.error(), Catch::Contains("127.0.0.1:" + std::to_string(port)));
  CHECK_THAT(client.error(), !Catch::Contains("hunter2"));
}

}  // namespace

TEST_CASE("the redis client fails on a port where nothing listens with an error naming host:port", "[redis]") {
  const auto port = closed_port();
  run_coroutine([port](net::io_context& io) { return refused(io, port); });
}

namespace {

net::awaitable<void> silent_server(net::io_context& io) {
  // The kernel completes the TCP handshake for a listening socket nobody accepts on: AUTH never gets an answer.
  net::ip::tcp::acceptor silent(io, net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const auto port = silent.local_endpoint().port();
  const auto start = Steady::now();
  const auto client = co_await RedisClient::connect(io, on_port(port, "hunter2"), 300ms);
  REQUIRE_FALSE(client.has_value());
  CHECK(Steady::now() - start < 30s);  // a timeout read as seconds would wait 300 s
  CHECK_THAT(client.error(), Catch::Contains("127.0.0.1:" + std::to_string(port)) && Catch::Contains("300 ms"));
  CHECK_THAT(client.error(), !Catch::Contains("hunter2"));
}

}  // namespace

TEST_CASE("the redis client fails after the timeout on a server that accepts and never answers", "[redis]") {
  run_coroutine([](net::io_context& io) { return silent_server(io); });
}

namespace {

net::awaitable<void> acl_auth(net::io_context& io) {
  auto admin = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  const std::string user = unique_redis_name("user");
  const auto user_set =
      reply_of(co_await send(*admin, "ACL", "SETUSER", user, "on", ">right-pass", "~*", "&*", "+@all"));
  CHECK(user_set.text == "OK");

  auto url = test_redis_url();
  url.user = user;
  url.password = "wrong-pass";
  const auto refused = co_await RedisClient::connect(io, url, 5s);
  REQUIRE_FALSE(refused.has_value());
  CHECK_THAT(refused.error(), Catch::Contains("authenticate") && Catch::Contains(url.endpoint()));
  CHECK_THAT(refused.error(), !Catch::Contains("wrong-pass"));

  url.password = "right-pass";
  auto client = client_of(co_await RedisClient::connect(io, url, 5s));
  const auto whoami = reply_of(co_await send(*client, "ACL", "WHOAMI"));
  CHECK(whoami.text == user);
  client.reset();
  const auto user_deleted = reply_of(co_await send(*admin, "ACL", "DELUSER", user));
  CHECK(user_deleted.integer == 1);
}

}  // namespace

TEST_CASE("the redis client authenticates as an ACL user, and a wrong password fails naming the server only",
          "[redis]") {
  run_coroutine([](net::io_context& io) { return acl_auth(io); });
}

namespace {

net::awaitable<void> close_in_flight(net::io_context& io) {
  auto client = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  Together together(io);
  // BLPOP holds the connection for 10 s; the PINGs queue behind it.
  together.send(*client, "BLPOP", unique_redis_name("list"), "10");
  for (int i = 0; i < 3; ++i) together.send(*client, "PING");
  net::steady_timer pause(io, 100ms);
  co_await pause.async_wait(net::use_awaitable);
  const auto start = Steady::now();
  client->close();
  co_await together.all();
  CHECK(Steady::now() - start < 5s);  // not held until the BLPOP's 10 s are up
  REQUIRE(together.results.size() == 4);
  for (const auto& result : together.results) {
    REQUIRE_FALSE(result.has_value());
    CHECK_THAT(result.error(), Catch::Contains("closed"));
  }
  const auto later = co_await send(*client, "PING");
  CHECK_FALSE(later.has_value());
  client->close();  // idempotent
}

}  // namespace

TEST_CASE("closing the redis client with commands in flight fails them and every later command", "[redis]") {
  run_coroutine([](net::io_context& io) { return close_in_flight(io); });
}

namespace {

net::awaitable<void> lost_connection(net::io_context& io) {
  auto victim = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  auto killer = client_of(co_await RedisClient::connect(io, test_redis_url(), 5s));
  const auto id = reply_of(co_await send(*victim, "CLIENT", "ID")).integer;
  Together together(io);
  together.send(*victim, "BLPOP", unique_redis_name("list"), "10");
  net::steady_timer pause(io, 100ms);
  co_await pause.async_wait(net::use_awaitable);
  const std::string victim_id = std::to_string(id);
  const auto killed = reply_of(co_await send(*killer, "CLIENT", "KILL", "ID", victim_id));
  CHECK(killed.integer == 1);
  co_await together.all();
  REQUIRE(together.results.size() == 1);
  REQUIRE_FALSE(together.results[0].has_value());
  CHECK_THAT(together.results[0].error(), Catch::Contains("connection lost"));
}

}  // namespace

TEST_CASE("a connection the server drops fails the redis client's command in flight as lost", "[redis]") {
  run_coroutine([](net::io_context& io) { return lost_connection(io); });
}
