// http::Server over real sockets on the loopback: routing, HEAD, keep-alive, the limits and deadlines that
// protect it from bad clients, binding, and a shutdown that does not wait for idle clients.
#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/http/server.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using projectord::http::Limits;
using projectord::http::Request;
using projectord::http::Response;
using projectord::http::Server;

using Reply = http::response<http::string_body>;

// A blocking client whose every operation has a deadline: async operations on a private io_context, run
// until they complete, so that a server that never answers fails the test instead of hanging it.
class Client {
 public:
  explicit Client(unsigned short port, const std::string& host = "127.0.0.1") {
    stream_.expires_after(2s);
    stream_.connect(tcp::endpoint(net::ip::make_address(host), port));
    stream_.socket().set_option(tcp::no_delay(true));
  }

  // Sends raw bytes, e.g. half a request or garbage.
  void send(const std::string& bytes, std::chrono::milliseconds deadline = 2s) {
    stream_.expires_after(deadline);
    std::optional<beast::error_code> result;
    net::async_write(stream_, net::buffer(bytes), [&](beast::error_code ec, std::size_t) { result = ec; });
    wait(result);
    if (*result) throw beast::system_error(*result);
  }

  // The next response, or nullopt when the connection closed or the deadline passed first.
  std::optional<Reply> receive(bool head = false, std::chrono::milliseconds deadline = 2s) {
    stream_.expires_after(deadline);
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a response to HEAD announces a Content-Length but has no body
    std::optional<beast::error_code> result;
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) { result = ec; });
    wait(result);
    if (*result) return std::nullopt;
    return parser.release();
  }

  Reply request(const std::string& method, const std::string& target, const std::string& body = "") {
    http::request<http::string_body> message{http::string_to_verb(method), target, 11};
    message.set(http::field::host, "localhost");
    message.body() = body;
    message.prepare_payload();
    std::ostringstream bytes;
    bytes << message;
    send(bytes.str());
    auto reply = receive(method == "HEAD");
    if (!reply) FAIL("no response to " << method << " " << target);
    return std::move(*reply);
  }

  // Whether the server closes the connection within `deadline`, reading past whatever it still sends.
  bool closed_within(std::chrono::milliseconds deadline) {
    stream_.expires_after(deadline);
    for (;;) {
      std::optional<beast::error_code> result;
      stream_.async_read_some(buffer_.prepare(4096), [&](beast::error_code ec, std::size_t n) {
        buffer_.commit(n);
        result = ec;
      });
      wait(result);
      if (*result == beast::error::timeout) return false;
      if (*result) return true;  // end of file or reset
    }
  }

 private:
  void wait(const std::optional<beast::error_code>& result) {
    io_.restart();
    while (!result && io_.run_one() > 0) {
    }
    REQUIRE(result.has_value());
  }

  net::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
};

// Answers every request with what it saw, so that a test can check the routing fields.
Response echo(const Request& request) {
  return {200, "text/plain; charset=utf-8",
          request.method + " path=" + request.path + " query=" + request.query + " auth=" + request.authorization +
              " body=" + request.body};
}

std::unique_ptr<Server> start(projectord::http::Handler handler = echo, Limits limits = {}) {
  auto started = Server::start("127.0.0.1:0", std::move(handler), limits);
  INFO((started ? std::string() : started.error()));
  REQUIRE(started.has_value());
  return std::move(*started);
}

std::chrono::milliseconds since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start);
}

bool has_ipv6_loopback() {
  net::io_context io;
  tcp::acceptor probe(io);
  beast::error_code ec;
  probe.open(tcp::v6(), ec);
  if (!ec) probe.bind(tcp::endpoint(net::ip::address_v6::loopback(), 0), ec);
  return !ec;
}

}  // namespace

TEST_CASE("the HTTP server passes a GET to the handler, which chooses the status, body and content type") {
  std::mutex mutex;
  Request seen;
  auto server = start([&](const Request& request) {
    const std::lock_guard lock(mutex);
    seen = request;
    return Response{418, "application/json", "{\"teapot\":true}"};
  });
  Client client(server->port());
  http::request<http::string_body> message{http::verb::get, "/status?verbose=1&x=2", 11};
  message.set(http::field::host, "localhost");
  message.set(http::field::authorization, "Bearer secret");
  std::ostringstream bytes;
  bytes << message;
  client.send(bytes.str());
  const auto reply = client.receive();
  REQUIRE(reply);

  CHECK(reply->result_int() == 418);
  CHECK(reply->body() == "{\"teapot\":true}");
  CHECK((*reply)[http::field::content_type] == "application/json");
  CHECK((*reply)[http::field::content_length] == "15");
  CHECK((*reply)[http::field::server] == "projectord");
  CHECK((*reply)[http::field::cache_control] == "no-store");
  const std::lock_guard lock(mutex);
  CHECK(seen.method == "GET");
  CHECK(seen.target == "/status?verbose=1&x=2");
  CHECK(seen.path == "/status");
  CHECK(seen.query == "verbose=1&x=2");
  CHECK(seen.authorization == "Bearer secret");
}

TEST_CASE("an HTTP server on port 0 binds a free port, which port() reports") {
  auto server = start();
  REQUIRE(server->port() != 0);
  auto other = start();
  CHECK(other->port() != server->port());
  Client client(server->port());
  CHECK(client.request("GET", "/healthz").body() == "GET path=/healthz query= auth= body=");
}

TEST_CASE("an HTTP server resolves a host name such as localhost once at start") {
  auto started = Server::start("localhost:0", echo);
  REQUIRE(started.has_value());
  const unsigned short port = (*started)->port();
  CHECK(port != 0);
}

TEST_CASE("the HTTP server answers HEAD like GET, with its Content-Length but without a body") {
  auto server = start();
  Client client(server->port());
  const Reply get = client.request("GET", "/metrics");
  const Reply head = client.request("HEAD", "/metrics");
  CHECK(head.result_int() == 200);
  CHECK(head.body().empty());
  CHECK(head[http::field::content_length] == std::to_string(get.body().size()));
  // Body bytes after the HEAD response would be read as the start of this one and fail to parse.
  CHECK(client.request("GET", "/after-head").body() == "GET path=/after-head query= auth= body=");
}

TEST_CASE("with keep-alive the HTTP server answers two requests on one connection") {
  auto server = start();
  Client client(server->port());
  CHECK(client.request("GET", "/one").body() == "GET path=/one query= auth= body=");
  CHECK(client.request("POST", "/two", "payload").body() == "POST path=/two query= auth= body=payload");
}

TEST_CASE("the HTTP server answers 500 when the handler throws, and the connection goes on") {
  auto server = start([](const Request& request) -> Response {
    if (request.path == "/boom") throw std::runtime_error("boom");
    return {200, "text/plain", "fine"};
  });
  Client client(server->port());
  CHECK(client.request("GET", "/boom").result_int() == 500);
  CHECK(client.request("GET", "/fine").body() == "fine");
}

TEST_CASE("the HTTP server refuses a body over the limit with 413, and the body never reaches the handler") {
  std::atomic<int> calls = 0;
  auto server = start(
      [&](const Request&) {
        ++calls;
        return Response{};
      },
      Limits{.body_limit = 1024});
  Client client(server->port());
  const Reply reply = client.request("POST", "/upload", std::string(4096, 'x'));
  CHECK(reply.result_int() == 413);
  CHECK(client.closed_within(2s));
  CHECK(calls == 0);
  CHECK(Client(server->port()).request("POST", "/small", std::string(1024, 'x')).result_int() == 200);
}

TEST_CASE("the HTTP server answers garbage bytes with a 400 or a closed connection, and answers the next client") {
  auto server = start();
  Client garbage(server->port());
  garbage.send("\x16\x03\x01 not http\r\n\r\n");
  const auto reply = garbage.receive();
  if (reply) CHECK(reply->result_int() == 400);
  CHECK(garbage.closed_within(2s));
  CHECK(Client(server->port()).request("GET", "/next").result_int() == 200);
}

TEST_CASE("the HTTP server cuts a slow client off after the read deadline") {
  auto server = start(echo, Limits{.read_deadline = 200ms});
  const auto slow_start = Steady::now();
  Client slow(server->port());
  slow.send("GET /slo");
  const auto reply = slow.receive(false, 30s);
  if (reply) CHECK(reply->result_int() == 408);
  CHECK(slow.closed_within(30s));
  CHECK(since(slow_start) >= 150ms);
}

TEST_CASE("the HTTP server answers other clients while a slow one is still sending its request") {
  // A read deadline far off: the slow client still holds its connection when the other one is answered.
  auto server = start(echo, Limits{.read_deadline = 120s});
  Client slow(server->port());
  slow.send("GET /slo");
  CHECK(Client(server->port()).request("GET", "/meanwhile").result_int() == 200);
  CHECK_FALSE(slow.closed_within(1ms));
}

TEST_CASE("the HTTP server closes a keep-alive connection idle past the idle deadline") {
  auto server = start(echo, Limits{.idle_deadline = 200ms});
  Client client(server->port());
  client.request("GET", "/once");
  const auto idle_start = Steady::now();
  CHECK(client.closed_within(2s));
  CHECK(since(idle_start) >= 150ms);
}

TEST_CASE("a second HTTP server on the same port fails to start and says why") {
  auto first = start();
  const std::string listen = "127.0.0.1:" + std::to_string(first->port());
  const auto second = Server::start(listen, echo);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error() == "cannot listen on " + listen + ": Address already in use");
  CHECK(Client(first->port()).request("GET", "/still-there").result_int() == 200);
}

TEST_CASE("a malformed listen address is an HTTP server error that names it") {
  for (const std::string listen : {"9464", "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:99999", "127.0.0.1:94x",
                                   "::1:9464", "[::1:9464", "[::1]", "127.0.0.1:-1"}) {
    const auto started = Server::start(listen, echo);
    INFO(listen);
    REQUIRE_FALSE(started.has_value());
    CHECK_THAT(started.error(), Catch::Contains("'" + listen + "'"));
  }
}

TEST_CASE("an HTTP server on an IPv6 loopback address in brackets works") {
  if (!has_ipv6_loopback()) {
    WARN("no IPv6 loopback on this machine: skipped");
    return;
  }
  auto started = Server::start("[::1]:0", echo);
  INFO((started ? std::string() : started.error()));
  REQUIRE(started.has_value());
  Client client((*started)->port(), "::1");
  CHECK(client.request("GET", "/v6").result_int() == 200);
}

TEST_CASE("the HTTP server's destructor returns promptly with an idle client and a client mid-request") {
  // Deadlines far beyond the bound below: a destructor that waited for either client would miss it.
  auto server = start(echo, Limits{.read_deadline = 120s, .idle_deadline = 120s});
  Client idle(server->port());
  REQUIRE(idle.request("GET", "/keep").result_int() == 200);
  Client halfway(server->port());
  halfway.send("GET /half");
  CHECK_FALSE(halfway.closed_within(50ms));  // the server waits for the rest
  const auto stop_start = Steady::now();
  server.reset();
  CHECK(since(stop_start) < 60s);
  CHECK(idle.closed_within(2s));
  CHECK(halfway.closed_within(2s));
}

TEST_CASE("200 sequential GETs on one HTTP server connection are not each held up by a delayed ACK") {
  // A response written in pieces without TCP_NODELAY waits for the client's delayed ACK (40 ms) on every
  // request; a busy machine delays some requests, never most of them.
  auto server = start();
  Client client(server->port());
  std::vector<std::chrono::microseconds> latencies;
  for (int i = 0; i < 200; ++i) {
    const auto request_start = Steady::now();
    REQUIRE(client.request("GET", "/metrics").result_int() == 200);
    latencies.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - request_start));
  }
  std::sort(latencies.begin(), latencies.end());
  const auto held_up = std::count_if(latencies.begin(), latencies.end(), [](auto latency) { return latency >= 40ms; });
  INFO("median " << latencies[latencies.size() / 2].count() << " us, max " << latencies.back().count() << " us");
  CHECK(held_up < static_cast<std::ptrdiff_t>(latencies.size() / 2));
}

TEST_CASE(
    "the HTTP server sends a deferred answer when another thread replies, else on_timeout, and ignores late "
    "replies") {
  using projectord::http::Deferred;
  using projectord::http::Reply;
  std::mutex mutex;
  std::vector<Reply> replies;  // handed to the "lane" thread below
  auto server = start([&](const Request& request) -> projectord::http::Answer {
    return Deferred{.timeout = request.path == "/quick" ? 100ms : 5s,
                    .on_timeout = Response{408, "text/plain", "timed out\n"},
                    .start = [&](Reply reply) {
                      const std::lock_guard lock(mutex);
                      replies.push_back(std::move(reply));
                    }};
  });
  auto take_reply = [&] {
    for (const auto deadline = Steady::now() + 2s; Steady::now() < deadline; std::this_thread::yield()) {
      const std::lock_guard lock(mutex);
      if (!replies.empty()) {
        Reply reply = std::move(replies.front());
        replies.erase(replies.begin());
        return reply;
      }
    }
    FAIL("the server never started the deferred request");
    return Reply{};
  };

  Client waiting(server->port());
  waiting.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  Reply reply = take_reply();
  std::thread([&reply] { reply(Response{200, "text/plain", "reached\n"}); }).join();
  const auto answered = waiting.receive();
  REQUIRE(answered);
  CHECK(answered->result_int() == 200);
  CHECK(answered->body() == "reached\n");
  reply(Response{500, "text/plain", "second\n"});  // only the first call counts
  waiting.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");  // the connection goes on
  take_reply()(Response{201, "text/plain", "next\n"});
  const auto next = waiting.receive();
  REQUIRE(next);
  CHECK(next->result_int() == 201);

  Client quick(server->port());
  const auto started = Steady::now();
  quick.send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
  Reply late = take_reply();
  const auto timed_out = quick.receive();
  REQUIRE(timed_out);
  CHECK(timed_out->result_int() == 408);
  CHECK(since(started) >= 100ms);
  late(Response{200, "text/plain", "too late\n"});  // does nothing, crashes nothing
  CHECK_FALSE(quick.receive(false, 100ms));         // in particular, no second response
}

TEST_CASE(
    "stopping the HTTP server with a deferred request pending is prompt, and a reply after the stop does nothing") {
  using projectord::http::Deferred;
  using projectord::http::Reply;
  std::mutex mutex;
  std::optional<Reply> pending;
  auto server = start([&](const Request&) -> projectord::http::Answer {
    return Deferred{.timeout = 30s, .on_timeout = Response{408, "text/plain", ""}, .start = [&](Reply reply) {
                      const std::lock_guard lock(mutex);
                      pending = std::move(reply);
                    }};
  });
  Client client(server->port());
  client.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  for (const auto deadline = Steady::now() + 2s; Steady::now() < deadline; std::this_thread::yield()) {
    const std::lock_guard lock(mutex);
    if (pending) break;
  }
  const std::lock_guard lock(mutex);
  REQUIRE(pending);
  const auto stop_start = Steady::now();
  server.reset();
  CHECK(since(stop_start) < 15s);  // half the deferred timeout: the stop did not wait for it
  CHECK(client.closed_within(2s));
  (*pending)(Response{200, "text/plain", "after the stop\n"});
}
