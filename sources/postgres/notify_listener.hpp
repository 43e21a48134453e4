#pragma once
/// LISTENs on a NOTIFY channel on a dedicated connection whose socket Asio watches, reconnecting with
/// backoff. For a source it wakes the lanes: notifications are only wake-ups (the lanes always re-read the
/// table, and their poll interval covers a missing trigger or a notification lost while this connection was
/// down), and after every (re)connect it wakes them once, so nothing sent in between waits for the next poll.
/// For the daemon's control channel it hands each payload on.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>


namespace projectord::sources {

class NotifyListener {
 public:
  /// Called on the io thread with each notification's payload, and with nullopt after every (re)connect.
  using OnNotify = std::function<void(std::optional<std::string_view> payload)>;

  NotifyListener(boost::asio::io_context& io, std::string url, std::string channel, OnNotify on_notify);
  ~NotifyListener();

  void start();
  /// Ends the listening loop; call on the io_context's thread.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace projectord::sources
