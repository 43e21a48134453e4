// The projectord binary's HTTP endpoint under a flood from one local process: thousands of idle connections
// and parked GET /wait requests must not take the daemon's file descriptors. /healthz keeps answering, the
// lanes keep committing, and once the flood's clients close, the daemon's descriptors return to where they
// were.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/process_stats.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::open_fds;
using projectord::testing::TestDatabase;

namespace {

// Client sockets of the flood; closed with the object.
class Flood {
 public:
  ~Flood() {
    for (int fd : fds_) ::close(fd);
  }

  // A connection that is opened and never sends anything.
  void idle(unsigned short port) { fds_.push_back(connect_to(port)); }

  // A connection that sends one request (the whole of it) and never reads the answer.
  void request(unsigned short port, const std::string& target) {
    const int fd = connect_to(port);
    const std::string text = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // A refused connection may be closed by the daemon before this: that is an answer too.
    [[maybe_unused]] const auto sent = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    fds_.push_back(fd);
  }

  void close_all() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }

 private:
  static int connect_to(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    return fd;
  }

  std::vector<int> fds_;
};

}  // namespace

TEST_CASE("3,000 idle connections and 3,000 parked waits leave /healthz answering, lanes committing, fds bounded") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "flood.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint endpoint(daemon);
  REQUIRE(eventually([&] { return endpoint.position("users") == head(db); }));
  const std::int64_t baseline = open_fds(daemon.pid());

  Flood flood;
  const unsigned short port = http_port(daemon);
  for (int i = 0; i < 3000; ++i) {
    flood.idle(port);
    flood.request(port, "/wait/users?position=999999999&timeout_ms=300000");
  }
  // Far under the flood's 6,000 and under the 1,024 descriptors a service gets by default.
  CHECK(open_fds(daemon.pid()) < baseline + 400);

  CHECK(endpoint.get("/healthz", 5s).status == 200);
  write_events(db, 6);
  CHECK(eventually([&] { return endpoint.position("users") == head(db); }));
  CHECK(open_fds(daemon.pid()) < baseline + 400);

  flood.close_all();
  CHECK(eventually([&] { return open_fds(daemon.pid()) <= baseline + 2; }));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a parked wait beyond the cap is refused with 503 and Retry-After, and a wait freed by its client") {
  TestDatabase db;
  write_events(db, 3);
  const std::string config = migrated(db, "waits.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint endpoint(daemon);
  REQUIRE(eventually([&] { return endpoint.position("users") == head(db); }));
  const unsigned short port = http_port(daemon);

  Flood parked;
  for (int i = 0; i < 128; ++i) parked.request(port, "/wait/users?position=999999999&timeout_ms=300000");
  const std::string beyond = "/wait/users?position=999999999&timeout_ms=300000";
  REQUIRE(eventually([&] { return endpoint.get(beyond, 5s).status == 503; }));

  // Clients that leave free their waits at once, not when their 300 s run out.
  parked.close_all();
  CHECK(eventually([&] { return endpoint.get("/wait/users?position=1&timeout_ms=1000", 5s).status == 200; }));
  const auto reply = endpoint.get("/wait/users?position=999999999&timeout_ms=200", 5s);
  CHECK(reply.status == 408);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a request naming another host is refused, and so is an admin call from a web page") {
  TestDatabase db;
  write_events(db, 3);
  const std::string config = migrated(db, "browser.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint endpoint(daemon);
  REQUIRE(eventually([&] { return endpoint.position("users") == head(db); }));
  const unsigned short port = http_port(daemon);
  using projectord::testing::http_request;

  // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1.
  CHECK(http_request("127.0.0.1", port, "GET", "/status", 5s, {{"Host", "evil.example:" + std::to_string(port)}})
            .status == 403);
  CHECK(http_request("127.0.0.1", port, "GET", "/status", 5s, {{"Host", "localhost:" + std::to_string(port)}})
            .status == 200);
  // A form or fetch from any page: browsers send Origin, and no preflight guards a simple POST.
  CHECK(http_request("127.0.0.1", port, "POST", "/admin/pause/users", 5s, {{"Origin", "https://evil.example"}})
            .status == 403);
  CHECK(endpoint.state("users") != "paused");
  CHECK(endpoint.post("/admin/pause/users").status == 202);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
