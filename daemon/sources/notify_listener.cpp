#include "daemon/sources/notify_listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/connection>
#include <pqxx/notification>

#include "daemon/backoff.hpp"
#include "daemon/db_session.hpp"
#include "daemon/sources/borrowed_socket.hpp"

namespace projectord::sources {

namespace net = boost::asio;

namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& connection, const std::string& channel, const NotifyListener::OnNotify& on_notify)
      : pqxx::notification_receiver(connection, channel), on_notify_(on_notify) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override { on_notify_(payload); }

 private:
  const NotifyListener::OnNotify& on_notify_;
};

}  // namespace

struct NotifyListener::State {
  net::io_context& io;
  std::string url;
  std::string channel;
  NotifyListener::OnNotify on_notify;
  bool stopped = false;
  BorrowedSocket* socket = nullptr;
  net::steady_timer retry_timer{io};
};

NotifyListener::NotifyListener(net::io_context& io, std::string url, std::string channel, OnNotify on_notify)
    : state_(std::make_shared<State>(io, std::move(url), std::move(channel), std::move(on_notify))) {}

NotifyListener::~NotifyListener() = default;

void NotifyListener::start() {
  net::co_spawn(
      state_->io,
      [state = state_]() -> net::awaitable<void> {
        Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(30));
        while (!state->stopped) {
          try {
            pqxx::connection connection(state->url);
            prepare_session(connection, "listen:" + state->channel);
            Receiver receiver(connection, state->channel, state->on_notify);
            BorrowedSocket socket(state->io, connection.sock());
            state->socket = &socket;
            spdlog::info("channel={} event=listening", state->channel);
            backoff.reset();
            state->on_notify(std::nullopt);
            while (!state->stopped) {
              co_await socket.descriptor.async_wait(net::posix::stream_descriptor::wait_read, net::use_awaitable);
              connection.get_notifs();
            }
            state->socket = nullptr;
          } catch (const std::exception& error) {
            state->socket = nullptr;
            if (state->stopped) break;
            spdlog::warn("channel={} event=listen_failed error=\"{}\"", state->channel, error.what());
          }
          if (state->stopped) break;
          state->retry_timer.expires_after(backoff.next());
          co_await state->retry_timer.async_wait(net::as_tuple(net::use_awaitable));
        }
      },
      net::detached);
}

void NotifyListener::stop() {
  state_->stopped = true;
  state_->retry_timer.cancel();
  if (state_->socket != nullptr) state_->socket->descriptor.cancel();
}

}  // namespace projectord::sources
