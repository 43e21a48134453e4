#include "sources/postgres/notify_listener.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "base/backoff.hpp"
#include "base/borrowed_socket.hpp"
#include "base/postgres/conninfo.hpp"
#include "base/printable.hpp"
#include "base/result.hpp"

namespace projectord::sources {

namespace net = boost::asio;
using namespace net::experimental::awaitable_operators;

namespace {

// The listener speaks libpq's non-blocking API itself (pqxx connects synchronously): connecting, LISTEN and
// waiting for notifications never block the io thread, which also answers signals and drives the timers.

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// The role a backend logged in as (SET ROLE does not change it); every role may read it for every backend.
// NULL for background processes, no row once the backend has exited.
constexpr const char* kSenderRole = "SELECT usename FROM pg_catalog.pg_stat_activity WHERE pid = $1";

// libpq's own connect_timeout only bounds its blocking connect; this bounds the non-blocking one the same way.
std::chrono::seconds connect_timeout() {
  const char* configured = std::getenv("PGCONNECT_TIMEOUT");
  const int seconds = configured != nullptr ? std::atoi(configured) : 0;
  return std::chrono::seconds(seconds > 0 ? seconds : 10);
}

struct Finish {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using Connection = std::unique_ptr<PGconn, Finish>;

std::string error_of(PGconn* connection) {
  std::string message = PQerrorMessage(connection);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

net::awaitable<void> wait_for(PGconn* connection, net::posix::stream_descriptor::wait_type what) {
  BorrowedSocket socket(co_await net::this_coro::executor, PQsocket(connection));
  const auto [ec] = co_await socket.descriptor.async_wait(what, kTuple);
  if (ec) throw std::runtime_error("waiting on the connection: " + ec.message());
}

// Asio's `a || b` waits for the first to *succeed*: an operation that throws would leave it waiting for the
// other (the timeout, the stop). Racing operations therefore report failure as a value.
template <class T>
net::awaitable<Result<T>> as_result(net::awaitable<T> operation) {
  try {
    co_return co_await std::move(operation);
  } catch (const std::exception& error) {
    co_return fail(error.what());
  }
}

net::awaitable<Result<void>> as_result(net::awaitable<void> operation) {
  try {
    co_await std::move(operation);
    co_return Result<void>{};
  } catch (const std::exception& error) {
    co_return fail(error.what());
  }
}

// The value of a raced operation that won, or its failure thrown on.
template <class T>
T value_of(Result<T> result) {
  if (!result) throw std::runtime_error(result.error());
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

net::awaitable<void> expire(std::chrono::seconds limit) {
  net::steady_timer timer(co_await net::this_coro::executor, limit);
  co_await timer.async_wait(kTuple);
}

// PQconnectStart / PQconnectPoll, with the session's application_name and time zone as connection options.
net::awaitable<Connection> connect(const std::string& url, const std::string& application_name) {
  const std::string conninfo = postgres::with_keepalives(url);
  const char* keys[] = {"dbname", "application_name", "options", nullptr};
  const char* values[] = {conninfo.c_str(), application_name.c_str(), "-c TimeZone=UTC", nullptr};
  Connection connection(PQconnectStartParams(keys, values, /*expand_dbname=*/1));
  if (!connection) throw std::runtime_error("out of memory");
  if (PQstatus(connection.get()) == CONNECTION_BAD) throw std::runtime_error(error_of(connection.get()));
  for (PostgresPollingStatusType state = PGRES_POLLING_WRITING;;) {
    if (state == PGRES_POLLING_OK) break;
    if (state == PGRES_POLLING_FAILED) throw std::runtime_error(error_of(connection.get()));
    const auto what = state == PGRES_POLLING_READING ? net::posix::stream_descriptor::wait_read
                                                     : net::posix::stream_descriptor::wait_write;
    co_await wait_for(connection.get(), what);  // the socket may change between polls (a second address)
    state = PQconnectPoll(connection.get());
  }
  if (PQsetnonblocking(connection.get(), 1) != 0) throw std::runtime_error(error_of(connection.get()));
  co_return connection;
}

// Sends one statement with its text parameters and reads its results to the end, without blocking; returns
// the first row's first value (nullopt: no row, or NULL).
net::awaitable<std::optional<std::string>> execute(PGconn* connection, const std::string& sql,
                                                   const std::vector<std::string>& parameters = {}) {
  std::vector<const char*> values;
  for (const std::string& parameter : parameters) values.push_back(parameter.c_str());
  if (PQsendQueryParams(connection, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                        nullptr, 0) == 0) {
    throw std::runtime_error(error_of(connection));
  }
  while (int pending = PQflush(connection)) {
    if (pending < 0) throw std::runtime_error(error_of(connection));
    co_await wait_for(connection, net::posix::stream_descriptor::wait_write);
  }
  std::optional<std::string> first;
  for (;;) {
    while (PQisBusy(connection) != 0) {
      co_await wait_for(connection, net::posix::stream_descriptor::wait_read);
      if (PQconsumeInput(connection) == 0) throw std::runtime_error(error_of(connection));
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQgetResult(connection), &PQclear);
    if (!result) co_return first;
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK && PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
      throw std::runtime_error(PQresultErrorMessage(result.get()));
    }
    if (!first && PQntuples(result.get()) > 0 && PQgetisnull(result.get(), 0, 0) == 0) {
      first = PQgetvalue(result.get(), 0, 0);
    }
  }
}

}  // namespace

struct NotifyListener::State {
  // Spelled out for clang before 16, which cannot make_shared an aggregate (parenthesized aggregate init).
  State(net::io_context& io, std::string url, std::string channel, NotifyListener::OnNotify on_notify,
        SenderRoles sender_roles)
      : io(io),
        url(std::move(url)),
        channel(std::move(channel)),
        on_notify(std::move(on_notify)),
        sender_roles(sender_roles) {}

  net::io_context& io;
  std::string url;
  std::string channel;
  NotifyListener::OnNotify on_notify;
  SenderRoles sender_roles;
  bool stopped = false;
  net::steady_timer retry_timer{io};
  net::steady_timer stop_signal{io, net::steady_timer::time_point::max()};  ///< cancelled by stop()
};

NotifyListener::NotifyListener(net::io_context& io, std::string url, std::string channel, OnNotify on_notify,
                               SenderRoles sender_roles)
    : state_(std::make_shared<State>(io, std::move(url), std::move(channel), std::move(on_notify), sender_roles)) {}

NotifyListener::~NotifyListener() = default;

void NotifyListener::start() {
  net::co_spawn(
      state_->io,
      [state = state_]() -> net::awaitable<void> {
        Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(30));
        auto stopped = [state]() -> net::awaitable<void> { co_await state->stop_signal.async_wait(kTuple); };
        while (!state->stopped) {
          try {
            auto connected = co_await (as_result(connect(state->url, "projectord:listen:" + state->channel)) ||
                                       expire(connect_timeout()) || stopped());
            if (connected.index() == 1) throw std::runtime_error("timeout expired while connecting");
            if (connected.index() == 2) break;
            Connection connection = value_of(std::move(std::get<0>(connected)));
            std::unique_ptr<char, decltype(&PQfreemem)> name(
                PQescapeIdentifier(connection.get(), state->channel.c_str(), state->channel.size()), &PQfreemem);
            if (!name) throw std::runtime_error(error_of(connection.get()));
            auto listening =
                co_await (as_result(execute(connection.get(), "LISTEN " + std::string(name.get()))) || stopped());
            if (listening.index() == 1) break;
            value_of(std::move(std::get<0>(listening)));
            spdlog::info("channel={} event=listening", state->channel);
            backoff.reset();
            state->on_notify(std::nullopt);
            while (!state->stopped) {
              auto readable = co_await (
                  as_result(wait_for(connection.get(), net::posix::stream_descriptor::wait_read)) || stopped());
              if (readable.index() == 1) break;
              value_of(std::move(std::get<0>(readable)));
              if (PQconsumeInput(connection.get()) == 0) throw std::runtime_error(error_of(connection.get()));
              // A lookup reads on, so the notifications it receives meanwhile are queued for this loop.
              while (PGnotify* received = PQnotifies(connection.get())) {
                const std::string payload = received->extra;
                const int sender_pid = received->be_pid;
                PQfreemem(received);
                std::optional<std::string> sender_role;
                if (state->sender_roles == SenderRoles::look_up) {
                  const std::vector<std::string> pid{std::to_string(sender_pid)};
                  auto looked_up =
                      co_await (as_result(execute(connection.get(), kSenderRole, pid)) || stopped());
                  if (looked_up.index() == 1) break;
                  sender_role = value_of(std::move(std::get<0>(looked_up)));
                }
                if (state->stopped) break;
                state->on_notify(Notification{payload, sender_pid, sender_role});
              }
            }
          } catch (const std::exception& error) {
            if (state->stopped) break;
            spdlog::warn("channel={} event=listen_failed error={}", state->channel, log_value(error.what()));
          }
          if (state->stopped) break;
          state->retry_timer.expires_after(backoff.next());
          co_await state->retry_timer.async_wait(kTuple);
        }
      },
      net::detached);
}

void NotifyListener::stop() {
  state_->stopped = true;
  state_->retry_timer.cancel();
  state_->stop_signal.cancel();
}

}  // namespace projectord::sources
