#pragma once
/// LISTENs on a source's NOTIFY channel on a dedicated connection whose socket Asio watches, and wakes the
/// source's lanes. Notifications are only wake-ups: the lanes always re-read the table, and their poll
/// interval covers a missing trigger or a notification lost while this connection was down. After every
/// (re)connect it wakes the lanes once, so nothing sent in between waits for the next poll.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "daemon/wake_signal.hpp"

namespace projectord::sources {

class NotifyListener {
 public:
  NotifyListener(boost::asio::io_context& io, std::string url, std::string channel, WakeSignal& wake);
  ~NotifyListener();

  void start();
  /// Ends the listening loop; call on the io_context's thread.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace projectord::sources
