#include "base/redis/client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <utility>

#include "base/borrowed_socket.hpp"
#include "base/tcp_keepalive.hpp"

namespace projectord::redis {

namespace net = boost::asio;

namespace {

using ReplyHandler = net::any_completion_handler<void(Result<Reply>)>;
using ConnectHandler = net::any_completion_handler<void(std::optional<std::string> error)>;

Reply to_reply(const redisReply& reply) {
  Reply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.kind = Reply::Kind::string;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = Reply::Kind::status;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = Reply::Kind::error;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = Reply::Kind::integer;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = Reply::Kind::array;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) out.elements.push_back(to_reply(*reply.element[i]));
      break;
    default:  // REDIS_REPLY_NIL; hiredis 0.14 knows no other type
      break;
  }
  return out;
}

}  // namespace

// What the hiredis hooks and callbacks reach through their void* (ac->ev.data, a command's privdata). It is
// shared with the Asio wait handlers, which may still be queued after the client is gone.
struct RedisClient::State : std::enable_shared_from_this<State> {
  State(net::io_context& io, std::string server) : io(io), server(std::move(server)) {}

  net::io_context& io;
  const std::string server;         // "redis at host:port", for messages
  redisAsyncContext* ac = nullptr;  // null once hiredis has freed it (closed or lost)
  // hiredis's error when the connection was lost rather than closed. Read from ac->c.err/errstr: hiredis 0.14
  // copies it into ac->err/errstr only as it disconnects.
  std::string lost_reason;
  std::optional<BorrowedSocket> socket;
  bool want_read = false, want_write = false;    // what hiredis asked for
  bool read_armed = false, write_armed = false;  // an Asio wait is outstanding
  std::optional<ConnectHandler> on_connected;
  bool timed_out = false;

  void attach(redisAsyncContext* context);
  void send(std::vector<std::string> args, ReplyHandler handler);
  void close() {
    // Runs every pending callback with a null reply, then the cleanup hook, then closes the socket.
    if (ac != nullptr) redisAsyncFree(ac);
  }
  std::string gone_message() const {
    return server + ": " + (lost_reason.empty() ? "the connection is closed" : "connection lost: " + lost_reason);
  }

  // Completions are posted, never run inside a hiredis callback: the caller's coroutine may close the
  // client or send the next command when it resumes, which hiredis does not allow in its callbacks.
  template <class Handler, class Value>
  void complete(Handler handler, Value value) {
    net::post(io, [handler = std::move(handler), value = std::move(value)]() mutable {
      std::move(handler)(std::move(value));
    });
  }

  void arm(bool read);

  // hiredis's event-library hooks (ac->ev); hiredis calls them only while `ac` is alive.
  static void add_read(void* data) { static_cast<State*>(data)->want(true, true); }
  static void del_read(void* data) { static_cast<State*>(data)->want(true, false); }
  static void add_write(void* data) { static_cast<State*>(data)->want(false, true); }
  static void del_write(void* data) { static_cast<State*>(data)->want(false, false); }
  static void cleanup(void* data);
  static void connected(const redisAsyncContext* context, int status);
  static void replied(redisAsyncContext* context, void* reply, void* privdata);

  // A command's privdata: hiredis hands it to State::replied exactly once, with a null reply when the
  // connection goes first.
  struct PendingCommand {
    State* state;
    ReplyHandler handler;
  };

  void want(bool read, bool on) {
    (read ? want_read : want_write) = on;
    if (on) arm(read);
  }
};

void RedisClient::State::attach(redisAsyncContext* context) {
  ac = context;
  socket.emplace(io, context->c.fd);
  context->ev.data = this;
  context->ev.addRead = &State::add_read;
  context->ev.delRead = &State::del_read;
  context->ev.addWrite = &State::add_write;
  context->ev.delWrite = &State::del_write;
  context->ev.cleanup = &State::cleanup;
  // Set after the hooks: hiredis asks for the first write readiness here, which tells it the connect ended.
  redisAsyncSetConnectCallback(context, &State::connected);
}

void RedisClient::State::arm(bool read) {
  bool& armed = read ? read_armed : write_armed;
  if (!socket || armed) return;
  armed = true;
  const auto direction = read ? net::posix::stream_descriptor::wait_read : net::posix::stream_descriptor::wait_write;
  socket->descriptor.async_wait(direction, [self = shared_from_this(), read](const boost::system::error_code& ec) {
    (read ? self->read_armed : self->write_armed) = false;
    // Aborted: hiredis freed the context and the socket was released.
    if (ec || self->ac == nullptr || !(read ? self->want_read : self->want_write)) return;
    if (read) {
      redisAsyncHandleRead(self->ac);
    } else {
      redisAsyncHandleWrite(self->ac);
    }
    // hiredis may have freed the context in there (the peer closed); then the socket is gone too.
    if (self->ac != nullptr && (read ? self->want_read : self->want_write)) self->arm(read);
  });
}

void RedisClient::State::cleanup(void* data) {
  auto* state = static_cast<State*>(data);
  if (state->ac->c.err != 0) state->lost_reason = state->ac->c.errstr;
  state->ac = nullptr;
  state->want_read = state->want_write = false;
  state->socket.reset();  // hiredis closes the descriptor right after this hook
  if (state->on_connected) {
    auto handler = std::move(*state->on_connected);
    state->on_connected.reset();
    state->complete(std::move(handler), std::optional<std::string>(state->gone_message()));
  }
}

void RedisClient::State::connected(const redisAsyncContext* context, int status) {
  auto* state = static_cast<State*>(context->ev.data);
  if (!state->on_connected) return;
  auto handler = std::move(*state->on_connected);
  state->on_connected.reset();
  std::optional<std::string> error;
  // On failure hiredis frees the context after this returns (and our cleanup hook runs).
  if (status != REDIS_OK) error = context->c.err != 0 ? context->c.errstr : "connection failed";
  state->complete(std::move(handler), std::move(error));
}

void RedisClient::State::replied(redisAsyncContext* context, void* reply, void* privdata) {
  std::unique_ptr<PendingCommand> pending(static_cast<PendingCommand*>(privdata));
  State& state = *pending->state;
  if (reply == nullptr) {
    // The connection is going: lost (context->err says why) or closed by us.
    if (context->c.err != 0) state.lost_reason = context->c.errstr;
    state.complete(std::move(pending->handler), Result<Reply>(fail(state.gone_message())));
    return;
  }
  state.complete(std::move(pending->handler), Result<Reply>(to_reply(*static_cast<const redisReply*>(reply))));
}

void RedisClient::State::send(std::vector<std::string> args, ReplyHandler handler) {
  if (args.empty()) return complete(std::move(handler), Result<Reply>(fail(server + ": an empty command")));
  if (ac == nullptr) return complete(std::move(handler), Result<Reply>(fail(gone_message())));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto pending = std::make_unique<PendingCommand>(PendingCommand{this, std::move(handler)});
  // hiredis copies the arguments into its output buffer before this returns.
  if (redisAsyncCommandArgv(ac, &State::replied, pending.get(), static_cast<int>(args.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    return complete(std::move(pending->handler), Result<Reply>(fail(gone_message())));
  }
  pending.release();  // hiredis owns it until State::replied
}

RedisClient::RedisClient(std::shared_ptr<State> state) : state_(std::move(state)) {}

RedisClient::~RedisClient() { close(); }

void RedisClient::close() { state_->close(); }

net::awaitable<Result<Reply>> RedisClient::command(std::vector<std::string> args) {
  // Captures nothing that owns: GCC 12 destroys a temporary in a co_await expression twice, which released a
  // shared_ptr captured here once too often. The client outlives the call.
  State* state = state_.get();
  co_return co_await net::async_initiate<decltype(net::use_awaitable), void(Result<Reply>)>(
      [state, &args](ReplyHandler handler) { state->send(std::move(args), std::move(handler)); }, net::use_awaitable);
}

net::awaitable<Result<std::unique_ptr<RedisClient>>> RedisClient::connect(net::io_context& io, const RedisUrl& url,
                                                                          std::chrono::milliseconds timeout) {
  const std::string server = "redis at " + url.endpoint();
  redisAsyncContext* context = url.unix_path.empty() ? redisAsyncConnect(url.host.c_str(), url.port)
                                                     : redisAsyncConnectUnix(url.unix_path.c_str());
  if (context == nullptr) co_return fail("cannot connect to " + server + ": out of memory");
  if (context->err != 0) {
    // Refused at once (nothing listens on a local port), or the name did not resolve.
    const std::string why = context->c.errstr;
    redisAsyncFree(context);
    co_return fail("cannot connect to " + server + ": " + why);
  }
  if (url.unix_path.empty()) {
    if (const auto keepalive = tcp_keepalive::enable_keepalive(context->c.fd); !keepalive) {
      redisAsyncFree(context);
      co_return fail("cannot connect to " + server + ": " + keepalive.error());
    }
  }
  auto state = std::make_shared<State>(io, server);
  state->attach(context);
  std::unique_ptr<RedisClient> client(new RedisClient(state));

  // One deadline for connect, AUTH and SELECT: closing the client makes whichever step is waiting fail.
  net::steady_timer deadline(io, timeout);
  deadline.async_wait([weak = std::weak_ptr<State>(state)](const boost::system::error_code& ec) {
    const auto state = weak.lock();
    if (ec || !state) return;
    state->timed_out = true;
    state->close();
  });
  const auto timed_out = [&] {
    return fail("cannot connect to " + server + ": no answer within " + std::to_string(timeout.count()) + " ms");
  };

  // Nothing ran since attach (no co_await in between), so the connect callback cannot have fired yet.
  const auto connect_error =
      co_await net::async_initiate<decltype(net::use_awaitable), void(std::optional<std::string>)>(
          [&state](ConnectHandler handler) { state->on_connected.emplace(std::move(handler)); }, net::use_awaitable);
  if (state->timed_out) co_return timed_out();
  if (connect_error) co_return fail("cannot connect to " + server + ": " + *connect_error);

  if (!url.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!url.user.empty()) auth.push_back(url.user);
    auth.push_back(url.password);
    const auto reply = co_await client->command(std::move(auth));
    if (state->timed_out) co_return timed_out();
    if (!reply) co_return fail("cannot authenticate to " + reply.error());
    // Redis's own message (WRONGPASS ...) never repeats the password.
    if (reply->is_error()) co_return fail("cannot authenticate to " + server + ": " + reply->text);
  }
  if (url.db != 0) {
    std::vector<std::string> select{"SELECT", std::to_string(url.db)};  // GCC 12 rejects a braced list in co_await
    const auto reply = co_await client->command(std::move(select));
    if (state->timed_out) co_return timed_out();
    if (!reply) co_return fail("cannot select database " + std::to_string(url.db) + " on " + reply.error());
    if (reply->is_error()) {
      co_return fail("cannot select database " + std::to_string(url.db) + " on " + server + ": " + reply->text);
    }
  }
  co_return std::move(client);
}

}  // namespace projectord::redis
