#include "base/http/server.hpp"
#include "base/http/listen_address.hpp"
#include "base/printable.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

namespace projectord::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace net::experimental::awaitable_operators;

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t kReadChunk = 4096;
// What a refused client may still send after our answer: enough for a body somewhat over the limit.
constexpr std::size_t kDrainLimit = 1024 * 1024;

using IoResult = std::tuple<beast::error_code, std::size_t>;

// Cancels the socket's pending operations when `limit` passes. Beast's tcp_stream would close the socket
// on a timeout instead, which leaves no way to answer 408.
net::awaitable<void> expire(tcp::socket& socket, std::chrono::milliseconds limit) {
  net::steady_timer timer(co_await net::this_coro::executor, limit);
  const auto [ec] = co_await timer.async_wait(kTuple);
  if (!ec) socket.cancel();
}

// Every network operation goes through here, so none waits forever. Once `op` completes the timer is
// cancelled (and the other way round) before this returns: nothing outlives the operands it refers to.
net::awaitable<IoResult> within(std::chrono::milliseconds limit, tcp::socket& socket, net::awaitable<IoResult> op) {
  auto outcome = co_await (std::move(op) || expire(socket, limit));
  if (outcome.index() == 1) co_return IoResult{beast::error::timeout, 0};
  co_return std::get<0>(std::move(outcome));
}

// Reads and discards until the client closes (or kDrainLimit): closing a socket with unread bytes makes the
// kernel send a reset, which may destroy our answer before the client has read it.
net::awaitable<IoResult> drain(tcp::socket& socket) {
  std::array<char, kReadChunk> scratch;
  std::size_t drained = 0;
  while (drained < kDrainLimit) {
    const auto [ec, n] = co_await socket.async_read_some(net::buffer(scratch), kTuple);
    if (ec) co_return IoResult{ec, drained};
    drained += n;
  }
  co_return IoResult{beast::error_code(), drained};
}

// The answer to a request that could not be read, or nullopt when there is nobody to answer: the client
// closed, sent nothing before the deadline, or the server is stopping.
std::optional<unsigned> refusal(const beast::error_code& ec, bool got_some) {
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit) return 431;
  if (ec == beast::error::timeout) return got_some ? std::optional<unsigned>(408) : std::nullopt;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) return 400;
  return std::nullopt;
}

// What a connection over the cap gets: written without waiting, since it must not hold a descriptor longer.
constexpr std::string_view kBusy =
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

void refuse_busy(tcp::socket& socket) {
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(kBusy), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// A deferred answer waits on its timer; meanwhile a read tells whether the client is still there. Bytes that
// arrive are its next request, kept in `buffer`; an error or end of stream means nobody waits any more.
net::awaitable<bool> client_left(tcp::socket& socket, beast::flat_buffer& buffer) {
  const auto [ec, n] = co_await socket.async_read_some(buffer.prepare(kReadChunk), kTuple);
  if (ec) co_return true;
  buffer.commit(n);
  co_return false;
}

std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

Request to_request(http::request<http::string_body>&& message) {
  Request request;
  request.method = message.method() == http::verb::head ? "GET" : std::string(message.method_string());
  request.target = std::string(message.target());
  const auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  request.authorization = std::string(message[http::field::authorization]);
  request.host = std::string(message[http::field::host]);
  request.origin = std::string(message[http::field::origin]);
  request.body = std::move(message.body());
  return request;
}

}  // namespace

// Lets threads that reply to deferred requests post to the server's io_context only while it exists: the
// server closes the gate before it stops and destroys the io_context.
struct ReplyGate {
  std::mutex mutex;
  bool open = true;
};

// One client connection. It is idle from the end of an answer (or its accept) until the first byte of its next
// request: only an idle connection is closed to make room for a new one.
struct Connection {
  tcp::socket socket;
  bool idle = true;
  std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();
};

// A deferred request waiting for its reply: the timer runs to the timeout, a reply cancels it.
struct PendingReply {
  net::steady_timer timer;
  std::optional<Response> response;
};

struct Server::State {
  Handler handler;
  Limits limits;
  // Declared before `io`: connection coroutines that io's destructor destroys still deregister here.
  std::unordered_set<Connection*> connections;
  std::size_t deferred = 0;  // answers being waited for
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  unsigned short port = 0;
  std::thread thread;

  Result<tcp::endpoint> bind(const std::string& listen);
  net::awaitable<void> accept();
  bool make_room();
  net::awaitable<void> serve(tcp::socket socket);
  std::shared_ptr<ReplyGate> gate = std::make_shared<ReplyGate>();
  net::awaitable<std::optional<Response>> respond(Request request, Connection& connection, beast::flat_buffer& buffer);
  net::awaitable<std::optional<Response>> await_reply(Deferred deferred, const Request& request,
                                                      Connection& connection, beast::flat_buffer& buffer);
  net::awaitable<beast::error_code> write(tcp::socket& socket, Response response, unsigned version, bool keep_alive,
                                          bool head);
  net::awaitable<void> finish(tcp::socket& socket);
  void stop();
};

Result<tcp::endpoint> Server::State::bind(const std::string& listen) {
  const auto parts = split_listen(listen);
  if (!parts) return fail(parts.error());
  std::vector<tcp::endpoint> candidates;
  beast::error_code ec;
  const auto address = net::ip::make_address(parts->host, ec);
  if (!ec) {
    candidates.emplace_back(address, parts->port);
  } else {
    tcp::resolver resolver(io);
    const auto results = resolver.resolve(parts->host, std::to_string(parts->port), tcp::resolver::numeric_service, ec);
    if (ec) return fail("cannot resolve the host of listen address '" + listen + "': " + ec.message());
    for (const auto& entry : results) candidates.push_back(entry.endpoint());
  }
  // A name may resolve to addresses this machine cannot bind (::1 without IPv6): the first that works wins.
  for (const auto& endpoint : candidates) {
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) return acceptor.local_endpoint();
    beast::error_code ignored;
    acceptor.close(ignored);
  }
  return fail("cannot listen on " + listen + ": " + ec.message());
}

net::awaitable<void> Server::State::accept() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (!acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors, or a connection reset before it was accepted: keep serving the others, but do
      // not spin while the cause lasts.
      spdlog::warn("event=http_accept_failed port={} error={}", port, log_value(ec.message()));
      net::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(kTuple);
      continue;
    }
    if (connections.size() >= limits.max_connections && !make_room()) {
      refuse_busy(socket);
      continue;
    }
    net::co_spawn(io, serve(std::move(socket)), net::detached);
  }
}

// Closes the connection idle for longest; false when every connection is in the middle of a request (each
// bounded by the read deadline) or waiting for a deferred answer (bounded by max_deferred).
bool Server::State::make_room() {
  Connection* oldest = nullptr;
  for (Connection* connection : connections) {
    if (connection->idle && (oldest == nullptr || connection->idle_since < oldest->idle_since)) oldest = connection;
  }
  if (oldest == nullptr) return false;
  oldest->idle = false;  // closing: its coroutine ends and deregisters at its next turn
  beast::error_code ignored;
  oldest->socket.close(ignored);
  return true;
}

net::awaitable<void> Server::State::serve(tcp::socket accepted) {
  Connection connection{std::move(accepted)};
  connections.insert(&connection);
  struct Deregister {
    std::unordered_set<Connection*>& connections;
    Connection* connection;
    ~Deregister() { connections.erase(connection); }
  } deregister{connections, &connection};
  tcp::socket& socket = connection.socket;
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // a response is one write; never wait for a delayed ack

  beast::flat_buffer buffer;
  // The first request is due within the read deadline of the accept; a later one within the read deadline of
  // its first byte, which may come after an idle pause.
  auto request_deadline = std::chrono::steady_clock::now() + limits.read_deadline;
  for (bool first = true;; first = false) {
    if (buffer.size() == 0) {
      connection.idle = true;
      connection.idle_since = std::chrono::steady_clock::now();
      const auto [ec, n] = co_await within(first ? limits.read_deadline : limits.idle_deadline, socket,
                                           socket.async_read_some(buffer.prepare(kReadChunk), kTuple));
      if (ec) co_return;  // the client closed, stayed idle too long, made room for another, or we stop
      buffer.commit(n);
    }
    connection.idle = false;
    if (!first) request_deadline = std::chrono::steady_clock::now() + limits.read_deadline;
    http::request_parser<http::string_body> parser;
    parser.body_limit(limits.body_limit);
    const auto [ec, n] =
        co_await within(remaining(request_deadline), socket, http::async_read(socket, buffer, parser, kTuple));
    if (ec) {
      if (const auto status = refusal(ec, parser.got_some())) {
        const Response answer{.status = *status,
                              .body = std::string(http::obsolete_reason(http::int_to_status(*status))) + "\n"};
        const auto failed = co_await write(socket, answer, 11, /*keep_alive=*/false, /*head=*/false);
        if (!failed) co_await finish(socket);
      }
      co_return;
    }
    auto message = parser.release();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == http::verb::head;
    // One co_await per statement: GCC 12 destroys temporaries of nested co_await expressions twice.
    std::optional<Response> response = co_await respond(to_request(std::move(message)), connection, buffer);
    if (!response) co_return;  // the client left while its answer was deferred
    if (co_await write(socket, std::move(*response), version, keep_alive, head)) co_return;
    if (!keep_alive) {
      co_await finish(socket);
      co_return;
    }
  }
}

net::awaitable<std::optional<Response>> Server::State::respond(Request request, Connection& connection,
                                                               beast::flat_buffer& buffer) {
  Answer answer;
  try {
    answer = handler(request);
  } catch (const std::exception& e) {
    spdlog::error("event=http_handler_failed method={} target={} error={}", request.method,
                  log_value(request.target), log_value(e.what()));
    co_return Response{.status = 500, .body = "internal error\n"};
  }
  Response response;
  if (auto* deferred = std::get_if<Deferred>(&answer)) {
    std::optional<Response> replied = co_await await_reply(std::move(*deferred), request, connection, buffer);
    if (!replied) co_return std::nullopt;
    response = std::move(*replied);
  } else {
    response = std::get<Response>(std::move(answer));
  }
  if (response.status < 200 || response.status > 599) {
    spdlog::error("event=http_handler_failed method={} target={} error=\"invalid status {}\"", request.method,
                  log_value(request.target), response.status);
    co_return Response{.status = 500, .body = "internal error\n"};
  }
  co_return response;
}

net::awaitable<std::optional<Response>> Server::State::await_reply(Deferred deferred, const Request& request,
                                                                   Connection& connection, beast::flat_buffer& buffer) {
  if (this->deferred >= limits.max_deferred) {
    co_return Response{.status = 503, .body = "too many requests waiting, try again\n", .headers = {{"Retry-After", "1"}}};
  }
  ++this->deferred;
  struct Undefer {
    std::size_t& deferred;
    ~Undefer() { --deferred; }
  } undefer{this->deferred};
  auto pending = std::make_shared<PendingReply>(PendingReply{net::steady_timer(io, deferred.timeout), {}});
  Reply reply = [gate = gate, io = &io, weak = std::weak_ptr<PendingReply>(pending)](Response response) {
    std::lock_guard lock(gate->mutex);
    if (!gate->open) return;
    net::post(*io, [weak, response = std::move(response)]() mutable {
      const auto waiting = weak.lock();
      if (!waiting || waiting->response) return;  // timed out (connection gone), or replied before
      waiting->response = std::move(response);
      waiting->timer.cancel();
    });
  };
  try {
    deferred.start(std::move(reply));
  } catch (const std::exception& e) {
    spdlog::error("event=http_handler_failed method={} target={} error={}", request.method,
                  log_value(request.target), log_value(e.what()));
    co_return Response{.status = 500, .body = "internal error\n"};
  }
  auto first = co_await (pending->timer.async_wait(kTuple) || client_left(connection.socket, buffer));
  if (first.index() == 1) {
    if (std::get<1>(first)) co_return std::nullopt;  // the pending reply goes with this frame
    co_await pending->timer.async_wait(kTuple);       // it sent its next request early: that waits in `buffer`
  }
  // After this the pending reply is gone: a reply still on its way finds nothing to complete.
  co_return pending->response ? std::move(*pending->response) : std::move(deferred.on_timeout);
}

net::awaitable<beast::error_code> Server::State::write(tcp::socket& socket, Response response, unsigned version,
                                                       bool keep_alive, bool head) {
  http::response<http::string_body> message;
  message.version(version);
  message.result(response.status);
  message.set(http::field::server, "projectord");
  message.set(http::field::content_type, response.content_type);
  message.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : response.headers) message.set(name, value);
  message.body() = std::move(response.body);
  message.prepare_payload();  // Content-Length from the body, also for HEAD, which then sends no body
  message.keep_alive(keep_alive);
  if (head) {
    http::response_serializer<http::string_body> serializer(message);
    const auto [ec, n] =
        co_await within(limits.read_deadline, socket, http::async_write_header(socket, serializer, kTuple));
    co_return ec;
  }
  const auto [ec, n] = co_await within(limits.read_deadline, socket, http::async_write(socket, message, kTuple));
  co_return ec;
}

net::awaitable<void> Server::State::finish(tcp::socket& socket) {
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  co_await within(limits.read_deadline, socket, drain(socket));
  socket.close(ignored);
}

void Server::State::stop() {
  beast::error_code ignored;
  acceptor.close(ignored);
  for (Connection* connection : connections) connection->socket.close(ignored);
  // What is still pending (timers, lingering closes) is destroyed with the io_context: nobody waits for it.
  io.stop();
}

Result<std::unique_ptr<Server>> Server::start(const std::string& listen, Handler handler, Limits limits) {
  auto state = std::make_unique<State>();
  state->handler = std::move(handler);
  state->limits = limits;
  const auto bound = state->bind(listen);
  if (!bound) return fail(bound.error());
  state->port = bound->port();
  net::co_spawn(state->io, state->accept(), net::detached);
  state->thread = std::thread([io = &state->io] { io->run(); });
  return std::unique_ptr<Server>(new Server(std::move(state)));
}

Server::Server(std::unique_ptr<State> state) : state_(std::move(state)) {}

Server::~Server() {
  {
    std::lock_guard lock(state_->gate->mutex);
    state_->gate->open = false;
  }
  net::post(state_->io, [state = state_.get()] { state->stop(); });
  // If run() already returned (nothing left to do), the posted stop never runs and the join returns at once.
  state_->thread.join();
}

unsigned short Server::port() const { return state_->port; }

}  // namespace projectord::http
