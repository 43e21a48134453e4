#pragma once
/// LISTENs on a NOTIFY channel on a dedicated connection whose socket Asio watches, reconnecting with
/// backoff. For a source it wakes the lanes: notifications are only wake-ups (the lanes always re-read the
/// table, and their poll interval covers a missing trigger or a notification lost while this connection was
/// down), and after every (re)connect it wakes them once, so nothing sent in between waits for the next poll.
/// For the daemon's control channel it hands each payload on with its sender: the sending backend's pid and,
/// asked for, the role that backend logged in as, looked up in pg_stat_activity on the listening connection
/// with libpq's non-blocking API (the io thread never waits on the server), one notification after another.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace projectord::sources {

struct Notification {
  std::string_view payload;
  int sender_pid = 0;  ///< the backend that sent it (PGnotify::be_pid)
  /// With SenderRoles::look_up, the sender's login role (pg_stat_activity.usename); nullopt when the sender had
  /// gone before the lookup, or is no login session.
  std::optional<std::string_view> sender_role;
};

enum class SenderRoles { ignore, look_up };

class NotifyListener {
 public:
  /// Called on the io thread with each notification, and with nullopt after every (re)connect.
  using OnNotify = std::function<void(const std::optional<Notification>& notification)>;

  NotifyListener(boost::asio::io_context& io, std::string url, std::string channel, OnNotify on_notify,
                 SenderRoles sender_roles = SenderRoles::ignore);
  ~NotifyListener();

  void start();
  /// Ends the listening loop; call on the io_context's thread.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace projectord::sources
