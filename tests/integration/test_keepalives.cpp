// Connections to the test PostgreSQL and Redis, opened the daemon's way, carry TCP keepalives and
// TCP_USER_TIMEOUT (base/tcp_keepalive.hpp), read back from their sockets with getsockopt: a server that
// vanishes without closing them cannot hang a lane. A URL's own settings win, and Unix-socket URLs, where
// the settings do not apply, still connect (Redis's over its socket: test_redis_client.cpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "base/postgres/conninfo.hpp"
#include "base/redis/client.hpp"
#include "base/tcp_keepalive.hpp"
#include "sources/postgres/notify_listener.hpp"
#include "tests/support/coroutine_test.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_redis.hpp"

// GCC 12 pairs Asio's coroutine-frame operator delete with the aligned_alloc inlined from its operator new
// and warns; both are Asio's own matched pair (thread_info_base::allocate and deallocate).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace std::chrono_literals;
using projectord::postgres::with_keepalives;
using projectord::testing::run_coroutine;
using projectord::testing::TestDatabase;
namespace tcp_keepalive = projectord::tcp_keepalive;
namespace net = boost::asio;

namespace {

struct SocketSettings {
  int keepalive = -1;
  int idle = -1;
  int interval = -1;
  int count = -1;
  int user_timeout = -1;
};

int option_of(int fd, int level, int option) {
  int value = -1;
  socklen_t size = sizeof value;
  if (::getsockopt(fd, level, option, &value, &size) != 0) FAIL("getsockopt on fd " << fd << " failed");
  return value;
}

SocketSettings settings_of(int fd) {
  return {option_of(fd, SOL_SOCKET, SO_KEEPALIVE), option_of(fd, IPPROTO_TCP, TCP_KEEPIDLE),
          option_of(fd, IPPROTO_TCP, TCP_KEEPINTVL), option_of(fd, IPPROTO_TCP, TCP_KEEPCNT),
          option_of(fd, IPPROTO_TCP, TCP_USER_TIMEOUT)};
}

void check_defaults(int fd) {
  const SocketSettings settings = settings_of(fd);
  CHECK(settings.keepalive == 1);
  CHECK(settings.idle == tcp_keepalive::kIdle.count());
  CHECK(settings.interval == tcp_keepalive::kInterval.count());
  CHECK(settings.count == tcp_keepalive::kCount);
  CHECK(settings.user_timeout == tcp_keepalive::kUserTimeout.count());
}

// This process's TCP sockets connected to `port` on the loopback: the connections a library opened and
// does not show.
std::vector<int> sockets_to(unsigned short port) {
  std::vector<int> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(entry.path().filename().string());
    sockaddr_in peer{};
    socklen_t size = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) != 0 || peer.sin_family != AF_INET) continue;
    if (ntohs(peer.sin_port) == port) found.push_back(fd);
  }
  return found;
}

// The port of the test PostgreSQL, asked on a connection of its own that is closed again.
unsigned short postgres_port(const TestDatabase& db) {
  pqxx::connection connection(db.url());
  return static_cast<unsigned short>(std::stoi(connection.port()));
}

}  // namespace

TEST_CASE("a PostgreSQL connection opened the daemon's way has TCP keepalives and a user timeout") {
  const TestDatabase db;
  pqxx::connection connection(with_keepalives(db.url()));
  check_defaults(connection.sock());
}

TEST_CASE("a keepalive setting in the PostgreSQL URL wins over the default, in either syntax") {
  const TestDatabase db;
  pqxx::connection keyword_value(with_keepalives(db.url() + " keepalives_idle=120 tcp_user_timeout=30000"));
  SocketSettings settings = settings_of(keyword_value.sock());
  CHECK(settings.idle == 120);
  CHECK(settings.user_timeout == 30000);
  CHECK(settings.interval == tcp_keepalive::kInterval.count());

  const std::string uri = std::string("postgresql://") + keyword_value.username() + "@127.0.0.1:" + keyword_value.port() + "/" +
                          db.name() + "?keepalives_count=7";
  pqxx::connection from_uri(with_keepalives(uri));
  settings = settings_of(from_uri.sock());
  CHECK(settings.keepalive == 1);
  CHECK(settings.count == 7);
  CHECK(settings.idle == tcp_keepalive::kIdle.count());
}

TEST_CASE("a PostgreSQL URL to the server's Unix socket still connects") {
  const TestDatabase db;
  pqxx::connection tcp(db.url());
  pqxx::nontransaction asked(tcp);
  const auto socket_directory =
      asked.exec1("SELECT split_part(current_setting('unix_socket_directories'), ',', 1)")[0].as<std::string>();
  if (socket_directory.empty()) {
    WARN("the test server listens on TCP only: nothing to check");
    return;
  }
  pqxx::connection local(with_keepalives("host=" + socket_directory + " port=" + std::string(tcp.port()) +
                                         " user=" + tcp.username() + " dbname=" + db.name()));
  pqxx::nontransaction txn(local);
  CHECK(txn.exec1("SELECT 1")[0].as<int>() == 1);
}

TEST_CASE("the NOTIFY listener's connection has TCP keepalives and a user timeout") {
  const TestDatabase db;
  const unsigned short port = postgres_port(db);
  net::io_context io;
  bool listening = false;
  projectord::sources::NotifyListener listener(io, db.url(), "keepalive_test",
                                               [&](const auto& notification) { listening |= !notification; });
  listener.start();
  for (const auto deadline = std::chrono::steady_clock::now() + 20s;
       !listening && std::chrono::steady_clock::now() < deadline;) {
    io.run_for(20ms);
  }
  REQUIRE(listening);
  const std::vector<int> sockets = sockets_to(port);  // the test's own connections are closed by now
  REQUIRE(sockets.size() == 1);
  check_defaults(sockets.front());
  listener.stop();
  io.run_for(100ms);
}

TEST_CASE("a Redis TCP connection has TCP keepalives and a user timeout") {
  const projectord::redis::RedisUrl url = projectord::testing::test_redis_url();
  run_coroutine([&](net::io_context& io) -> net::awaitable<void> {
    auto connected = co_await projectord::redis::RedisClient::connect(io, url, 5s);
    if (!connected) FAIL("connect: " << connected.error());
    const std::vector<int> sockets = sockets_to(url.port);
    REQUIRE(sockets.size() == 1);
    check_defaults(sockets.front());
  });
}
