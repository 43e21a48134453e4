// The fault suite's TCP proxy (tests/support/tcp_proxy.hpp) between libpq and the test PostgreSQL: each mode
// does to a connection what it says. Queries go out with libpq's non-blocking API and are waited for with a
// deadline, so a held answer is seen as held instead of hanging the test.
#include <libpq-fe.h>
#include <poll.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tests/support/tcp_proxy.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::testing::eventually;
using projectord::testing::TcpProxy;
using projectord::testing::TestDatabase;

namespace {

struct Finish {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using Connection = std::unique_ptr<PGconn, Finish>;

// `url` with its port replaced by the proxy's (a later keyword wins in a conninfo string).
std::string through(const TcpProxy& proxy, const std::string& url) {
  return url + " port=" + std::to_string(proxy.port()) + " connect_timeout=2";
}

// Sends `sql` and waits up to `deadline` for its whole answer: its first value, or nullopt when none came in
// time. A broken connection fails the test's CHECKs through PQstatus instead.
std::optional<std::string> answer_within(PGconn* connection, const std::string& sql, std::chrono::milliseconds deadline) {
  if (PQsendQuery(connection, sql.c_str()) == 0) return std::nullopt;
  return [&]() -> std::optional<std::string> {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (PQisBusy(connection) != 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      pollfd socket{PQsocket(connection), POLLIN, 0};
      if (::poll(&socket, 1, static_cast<int>(left.count())) < 0) return std::nullopt;
      if (PQconsumeInput(connection) == 0) return std::nullopt;
    }
    std::optional<std::string> value;
    while (PGresult* result = PQgetResult(connection)) {
      if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
      PQclear(result);
    }
    return value;
  }();
}

// Waits for whatever is still on its way on `connection` (an answer that was held) and discards it.
std::optional<std::string> held_answer(PGconn* connection, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (PQisBusy(connection) != 0 && std::chrono::steady_clock::now() < until) {
    pollfd socket{PQsocket(connection), POLLIN, 0};
    ::poll(&socket, 1, 50);
    if (PQconsumeInput(connection) == 0) return std::nullopt;
  }
  std::optional<std::string> value;
  while (PGresult* result = PQgetResult(connection)) {
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
    PQclear(result);
  }
  return value;
}

Connection connect(const std::string& url) {
  Connection connection(PQconnectdb(url.c_str()));
  REQUIRE(connection != nullptr);
  return connection;
}

}  // namespace

TEST_CASE("the TCP proxy forwards a query in pass, holds its answer in stall until pass, and fails it in reset") {
  TestDatabase db;
  const auto [host, port] = db.server_address();
  TcpProxy proxy(host, port);
  const Connection connection = connect(through(proxy, db.url()));
  REQUIRE(PQstatus(connection.get()) == CONNECTION_OK);
  CHECK(answer_within(connection.get(), "SELECT 1", 5s) == "1");
  CHECK(proxy.connections_accepted() == 1);
  CHECK(proxy.bytes_to_server() > 0);
  CHECK(proxy.bytes_to_client() > 0);

  proxy.set_mode(TcpProxy::Mode::stall);
  const auto sent_before = proxy.bytes_to_server();
  CHECK_FALSE(answer_within(connection.get(), "SELECT 2", 500ms));
  CHECK(proxy.bytes_to_server() == sent_before);  // the query itself is held
  proxy.set_mode(TcpProxy::Mode::pass);
  CHECK(held_answer(connection.get(), 5s) == "2");  // held, not lost
  CHECK(answer_within(connection.get(), "SELECT 3", 5s) == "3");

  proxy.set_mode(TcpProxy::Mode::reset);
  CHECK_FALSE(answer_within(connection.get(), "SELECT 4", 5s));
  CHECK(PQstatus(connection.get()) == CONNECTION_BAD);
  CHECK(proxy.connections_open() == 0);
  CHECK(PQstatus(connect(through(proxy, db.url())).get()) == CONNECTION_BAD);  // new ones are reset too

  proxy.set_mode(TcpProxy::Mode::pass);
  const Connection again = connect(through(proxy, db.url()));
  REQUIRE(PQstatus(again.get()) == CONNECTION_OK);
  CHECK(answer_within(again.get(), "SELECT 5", 5s) == "5");
}

TEST_CASE("the TCP proxy closes connections in drop, never answers new ones in black_hole, and answers half in half_answer") {
  TestDatabase db;
  const auto [host, port] = db.server_address();
  TcpProxy proxy(host, port);
  const Connection dropped = connect(through(proxy, db.url()));
  REQUIRE(PQstatus(dropped.get()) == CONNECTION_OK);
  proxy.set_mode(TcpProxy::Mode::drop);
  CHECK_FALSE(answer_within(dropped.get(), "SELECT 1", 5s));
  CHECK(PQstatus(dropped.get()) == CONNECTION_BAD);
  CHECK(PQstatus(connect(through(proxy, db.url())).get()) == CONNECTION_BAD);

  proxy.set_mode(TcpProxy::Mode::pass);
  const Connection held = connect(through(proxy, db.url()));
  REQUIRE(PQstatus(held.get()) == CONNECTION_OK);
  proxy.set_mode(TcpProxy::Mode::black_hole);
  const auto accepted = proxy.connections_accepted();
  const auto started = std::chrono::steady_clock::now();
  CHECK(PQstatus(connect(through(proxy, db.url())).get()) == CONNECTION_BAD);  // connect_timeout ran out
  CHECK(std::chrono::steady_clock::now() - started >= 1s);
  CHECK(proxy.connections_accepted() == accepted + 1);
  CHECK_FALSE(answer_within(held.get(), "SELECT 2", 300ms));  // existing ones stall
  proxy.set_mode(TcpProxy::Mode::pass);
  CHECK(held_answer(held.get(), 5s) == "2");

  proxy.set_mode(TcpProxy::Mode::half_answer);
  const auto received = proxy.bytes_to_client();
  CHECK_FALSE(answer_within(held.get(), "SELECT repeat('x', 1000)", 500ms));
  REQUIRE(eventually([&] { return proxy.bytes_to_client() > received; }));  // a part of the answer came
  proxy.set_mode(TcpProxy::Mode::pass);
  CHECK(held_answer(held.get(), 5s) == std::string(1000, 'x'));
  REQUIRE(eventually([&] { return proxy.connections_open() == 1; }));  // the black-holed one gave up and closed
}
