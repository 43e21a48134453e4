#pragma once
/// A TCP proxy between a client under test (the daemon) and a server (PostgreSQL, Redis), on 127.0.0.1 and a
/// free port, with an io thread of its own, whose behaviour the test switches at run time to make the network
/// misbehave:
///   pass         forwards both ways;
///   stall        keeps every connection and forwards nothing (new ones are accepted and held too);
///   drop         closes every connection, and accepts and closes new ones;
///   reset        as drop, with RST instead of FIN (SO_LINGER 0);
///   black_hole   accepts new connections and never answers nor forwards them (until the client gives up);
///                existing ones stall;
///   half_answer  forwards the first half of the next piece a server sends on each connection, then stalls
///                that connection.
/// Stalled connections (and the rest of a half answer) are held, not lost: back to pass, they go on where
/// they stopped, as after a network partition TCP outlived, and new connections are forwarded again;
/// black-holed connections stay silent. Counters tell the test what went through.
///
/// Contract: the constructor listens before it returns; set_mode() returns once the mode is in effect
/// (connections it closes are closed); counters may be read from any thread; the destructor closes every
/// connection and joins the io thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace projectord::testing {

class TcpProxy {
 public:
  enum class Mode { pass, stall, drop, reset, black_hole, half_answer };

  /// Forwards to `upstream_host` (an IP address) at `upstream_port`.
  TcpProxy(const std::string& upstream_host, unsigned short upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  /// The port it listens on, on 127.0.0.1.
  unsigned short port() const;

  void set_mode(Mode mode);

  std::int64_t connections_accepted() const;  ///< every connection accepted, whatever became of it
  std::int64_t connections_open() const;      ///< accepted and not closed yet
  std::int64_t bytes_to_server() const;       ///< forwarded from clients to the server
  std::int64_t bytes_to_client() const;       ///< forwarded from the server to clients

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string_view to_string(TcpProxy::Mode mode);

}  // namespace projectord::testing
