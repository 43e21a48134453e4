#include "base/tcp_keepalive.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace projectord::tcp_keepalive {

namespace {

struct SocketOption {
  int level;
  int option;
  int value;
  const char* name;
};

}  // namespace

Result<void> enable_keepalive(int fd) {
  const SocketOption options[] = {
      {SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"},
      {IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(kIdle.count()), "TCP_KEEPIDLE"},
      {IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(kInterval.count()), "TCP_KEEPINTVL"},
      {IPPROTO_TCP, TCP_KEEPCNT, kCount, "TCP_KEEPCNT"},
      {IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(kUserTimeout.count()), "TCP_USER_TIMEOUT"},
  };
  for (const SocketOption& option : options) {
    if (::setsockopt(fd, option.level, option.option, &option.value, sizeof option.value) != 0) {
      return fail(std::string("cannot set ") + option.name + ": " + std::strerror(errno));
    }
  }
  return {};
}

}  // namespace projectord::tcp_keepalive
