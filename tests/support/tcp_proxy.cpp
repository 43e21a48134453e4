#include "tests/support/tcp_proxy.hpp"

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <list>
#include <optional>
#include <thread>

namespace projectord::testing {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// One client's connection and, unless it was black-holed, its own connection to the server.
struct Link {
  explicit Link(net::io_context& io) : client(io), server(io) {}
  tcp::socket client;
  tcp::socket server;
  bool black_holed = false;
  bool half_answered = false;  // stalls until the next pass
  bool closed = false;
};

}  // namespace

struct TcpProxy::State {
  State(const std::string& host, unsigned short port)
      : upstream(net::ip::make_address(host), port), acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {}

  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
  const tcp::endpoint upstream;
  tcp::acceptor acceptor;
  // Never expires: every pump held back waits on it, and a change of mode (or a closed link) cancels it so
  // that they all look again.
  net::steady_timer gate{io, net::steady_timer::time_point::max()};
  Mode mode = Mode::pass;  // on the io thread only
  std::list<std::weak_ptr<Link>> links;
  std::thread thread;

  std::atomic<std::int64_t> accepted{0}, open{0}, to_server{0}, to_client{0};

  net::awaitable<void> accept_loop();
  net::awaitable<void> forward(std::shared_ptr<Link> link);
  net::awaitable<void> pump(std::shared_ptr<Link> link, bool upward);
  net::awaitable<void> drain(std::shared_ptr<Link> link);

  bool may_forward(const Link& link) const {
    return !link.black_holed && (mode == Mode::pass || (mode == Mode::half_answer && !link.half_answered));
  }

  void close(Link& link, bool with_reset) {
    if (link.closed) return;
    link.closed = true;
    boost::system::error_code ignored;
    if (with_reset) link.client.set_option(net::socket_base::linger(true, 0), ignored);
    link.client.close(ignored);
    link.server.close(ignored);
    --open;
    gate.cancel();  // its pumps held at the gate end
  }

  void close_all(bool with_reset) {
    for (auto& weak : links) {
      if (auto link = weak.lock()) close(*link, with_reset);
    }
    links.clear();
  }

  void apply(Mode next) {
    mode = next;
    if (next == Mode::pass) {
      for (auto& weak : links) {
        if (auto link = weak.lock()) link->half_answered = false;
      }
    }
    if (next == Mode::drop || next == Mode::reset) close_all(next == Mode::reset);
    gate.cancel();
  }
};

net::awaitable<void> TcpProxy::State::accept_loop() {
  for (;;) {
    auto link = std::make_shared<Link>(io);
    const auto [ec] = co_await acceptor.async_accept(link->client, kTuple);
    if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    ++accepted;
    ++open;
    if (mode == Mode::drop || mode == Mode::reset) {
      close(*link, mode == Mode::reset);
      continue;
    }
    links.remove_if([](const std::weak_ptr<Link>& weak) { return weak.expired(); });
    links.push_back(link);
    if (mode == Mode::black_hole) {
      link->black_holed = true;
      net::co_spawn(io, drain(link), net::detached);
    } else {
      net::co_spawn(io, forward(link), net::detached);
    }
  }
}

net::awaitable<void> TcpProxy::State::forward(std::shared_ptr<Link> link) {
  const auto [ec] = co_await link->server.async_connect(upstream, kTuple);
  if (ec) {
    close(*link, false);
    co_return;
  }
  net::co_spawn(io, pump(link, true), net::detached);
  co_await pump(link, false);
}

// Copies one direction, piece by piece, each piece held at the gate until the mode lets it through.
net::awaitable<void> TcpProxy::State::pump(std::shared_ptr<Link> link, bool upward) {
  tcp::socket& from = upward ? link->client : link->server;
  tcp::socket& to = upward ? link->server : link->client;
  std::atomic<std::int64_t>& counter = upward ? to_server : to_client;
  std::array<char, 16384> buffer{};
  while (!link->closed) {
    const auto [read_error, size] = co_await from.async_read_some(net::buffer(buffer), kTuple);
    if (read_error) break;
    std::size_t sent = 0;
    while (sent < size && !link->closed) {
      if (!may_forward(*link)) {
        co_await gate.async_wait(kTuple);
        continue;
      }
      std::size_t piece = size - sent;
      if (!upward && mode == Mode::half_answer) {
        link->half_answered = true;  // from now on this connection stalls, the rest held until pass
        piece = piece / 2;
        if (piece == 0) continue;
      }
      const auto [write_error, written] = co_await net::async_write(to, net::buffer(buffer.data() + sent, piece), kTuple);
      if (write_error) break;
      sent += written;
      counter += static_cast<std::int64_t>(written);
    }
    if (sent < size) break;
  }
  close(*link, false);
}

// A black-holed connection: what the client sends goes nowhere; its end closes the link.
net::awaitable<void> TcpProxy::State::drain(std::shared_ptr<Link> link) {
  std::array<char, 4096> buffer{};
  while (!link->closed) {
    const auto [ec, size] = co_await link->client.async_read_some(net::buffer(buffer), kTuple);
    if (ec) break;
  }
  close(*link, false);
}

TcpProxy::TcpProxy(const std::string& upstream_host, unsigned short upstream_port)
    : state_(std::make_unique<State>(upstream_host, upstream_port)) {
  net::co_spawn(state_->io, state_->accept_loop(), net::detached);
  state_->thread = std::thread([state = state_.get()] { state->io.run(); });
}

TcpProxy::~TcpProxy() {
  // Everything it started ends once every socket is closed; then run() returns for want of work.
  net::post(state_->io, [state = state_.get()] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
    state->close_all(false);
    state->gate.cancel();
    state->work.reset();
  });
  state_->thread.join();
}

unsigned short TcpProxy::port() const { return state_->acceptor.local_endpoint().port(); }

void TcpProxy::set_mode(Mode mode) {
  std::promise<void> applied;
  net::post(state_->io, [&] {
    state_->apply(mode);
    applied.set_value();
  });
  applied.get_future().wait();
}

std::int64_t TcpProxy::connections_accepted() const { return state_->accepted; }
std::int64_t TcpProxy::connections_open() const { return state_->open; }
std::int64_t TcpProxy::bytes_to_server() const { return state_->to_server; }
std::int64_t TcpProxy::bytes_to_client() const { return state_->to_client; }

std::string_view to_string(TcpProxy::Mode mode) {
  switch (mode) {
    case TcpProxy::Mode::pass: return "pass";
    case TcpProxy::Mode::stall: return "stall";
    case TcpProxy::Mode::drop: return "drop";
    case TcpProxy::Mode::reset: return "reset";
    case TcpProxy::Mode::black_hole: return "black_hole";
    case TcpProxy::Mode::half_answer: return "half_answer";
  }
  return "?";
}

}  // namespace projectord::testing
