// Operating the running daemon as a black box: the admin API (pause, resume, skip; the token), read-your-
// writes waits, SIGHUP reloads, and the states /status and /readyz report when a handler is stuck.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <future>
#include <pqxx/pqxx>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/http_client.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::http_request;
using projectord::testing::run_command;
using projectord::testing::HttpReply;
using projectord::testing::TestDatabase;

namespace {

const std::string kPoison =
    "INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state)"
    " VALUES ('Shop', gen_random_uuid(), 1, 'users.events:UserRegistered', '\\x00ff')";

}  // namespace

TEST_CASE("an admin pause holds one handler while the other goes on, resume wakes a /wait, calls need the token") {
  TestDatabase db;
  write_events(db, 60);
  const std::string token_file = write_file("admin.token", "s3cret-token\n");
  const std::string config =
      migrated(db, "admin.toml", with_http(demo_config(), "admin_token_file = \"" + token_file + "\"\n"));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.position("users") == head(db) && http.position("user_log") == head(db); }));
  CHECK(daemon.log().find("s3cret") == std::string::npos);  // the token is never logged

  CHECK(http.post("/admin/pause/users").status == 401);
  CHECK(http.post("/admin/pause/users", "s3cret-tokeN").status == 401);
  CHECK(http.post("/admin/pause/users", "s3cret-token-and-more").status == 401);
  CHECK(http.get("/admin/pause/users").status == 401);  // the token is checked before anything else
  CHECK(http.post("/admin/pause/nobody", "s3cret-token").status == 404);
  CHECK(http.post("/admin/frobnicate/users", "s3cret-token").status == 404);
  const auto paused = http.post("/admin/pause/users", "s3cret-token");
  CHECK(paused.status == 202);
  CHECK(paused.content_type == "application/json");
  REQUIRE(eventually([&] { return http.state("users") == "paused"; }));

  const std::int64_t held_at = http.position("users");
  write_events(db, 30);
  const std::int64_t target = head(db);
  REQUIRE(eventually([&] { return http.position("user_log") == target; }));
  CHECK(http.position("users") == held_at);
  CHECK(http.state("users") == "paused");
  CHECK(http.get("/readyz").status == 200);  // paused by an operator, not failing

  const auto timed_out = http.get("/wait/users?position=" + std::to_string(target) + "&timeout_ms=200");
  CHECK(timed_out.status == 408);
  const auto already = http.get("/wait/user_log?position=" + std::to_string(target) + "&timeout_ms=200");
  CHECK(already.status == 200);
  CHECK(boost::json::parse(already.body).at("position").as_int64() == target);

  // A waiter for the paused handler is answered by the commit that follows resume, well before its timeout.
  auto waiting = std::async(std::launch::async, [&] {
    return http.get("/wait/users?position=" + std::to_string(target) + "&timeout_ms=20000", 30s);
  });
  REQUIRE(waiting.wait_for(300ms) == std::future_status::timeout);  // still waiting while paused
  CHECK(http.post("/admin/resume/users", "s3cret-token").status == 202);
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  const auto woken = waiting.get();
  CHECK(woken.status == 200);
  CHECK(boost::json::parse(woken.body).at("reached").as_bool());
  CHECK(boost::json::parse(woken.body).at("position").as_int64() >= target);

  CHECK(http.post("/admin/resume/users", "s3cret-token").status == 409);  // not paused any more
  CHECK(http.post("/admin/skip/users", "s3cret-token").status == 409);    // not halted: nothing to skip
  CHECK(http.get("/wait/users?position=x").status == 400);
  CHECK(http.get("/wait/users").status == 400);
  CHECK(http.get("/wait/users?position=1&timeout_ms=99999999").status == 400);
  CHECK(http.get("/wait/nobody?position=1").status == 404);

  // The same calls from the CLI, which takes the token from the config.
  const std::string endpoint = "127.0.0.1:" + std::to_string(http_port(daemon));
  auto cli = [&](const std::string& action, const std::string& handler) {
    return run_command({kBinary, "--config", config, action, handler, "--http", endpoint}, env_for(db));
  };
  const auto paused_by_cli = cli("pause", "users");
  CHECK(paused_by_cli.exit_code == 0);
  CHECK(paused_by_cli.output.find("users: pausing") != std::string::npos);
  REQUIRE(eventually([&] { return http.state("users") == "paused"; }));
  CHECK(cli("resume", "users").exit_code == 0);
  REQUIRE(eventually([&] { return http.state("users") == "idle"; }));
  const auto refused = cli("skip", "users");
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.find("409") != std::string::npos);
  CHECK(run_command({kBinary, "--config", config, "pause"}, env_for(db)).exit_code == 2);  // which handler?
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a halted handler retries on an admin resume and, skipped, dead-letters its poison event and goes on") {
  TestDatabase db;
  write_events(db, 30);
  const std::int64_t poison = db.query_int("SELECT id FROM stored_events ORDER BY id OFFSET 20 LIMIT 1");
  db.exec("UPDATE stored_events SET state = '\\x00ff' WHERE id = " + std::to_string(poison));  // not zlib
  const std::string config = migrated(db, "skip.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.state("users") == "halted"; }));
  CHECK(http.handler("users").at("halted_at").as_int64() == poison);
  // No admin token is set: the error is shown by its class, its text to nobody over HTTP.
  CHECK(http.handler("users").at("error_class") == "decode");
  CHECK_FALSE(http.handler("users").contains("last_error"));
  CHECK(http.position("users") < poison);
  REQUIRE(eventually([&] { return http.position("user_log") == head(db); }));  // the other handler goes on

  CHECK(http.post("/admin/resume/users").status == 202);  // no token configured: loopback is trusted
  REQUIRE(eventually([&] { return daemon.log().find("event=resumed") != std::string::npos; }));
  REQUIRE(eventually([&] { return http.state("users") == "halted"; }));  // the event is still poison
  CHECK(http.position("users") < poison);

  const auto skipped = http.post("/admin/skip/users");
  REQUIRE(skipped.status == 202);
  CHECK(boost::json::parse(skipped.body).at("position").as_int64() == poison);
  REQUIRE(eventually([&] { return http.position("users") == head(db); }));
  CHECK(http.state("users") == "idle");
  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'users' AND position = " +
                     std::to_string(poison)) == 1);
  // Every registration after it made it into the read model, the poison one not.
  CHECK(db.query_int("SELECT count(*) FROM user_projection") ==
        db.query_int("SELECT count(*) FROM stored_events WHERE topic LIKE '%UserRegistered' AND id <> " +
                     std::to_string(poison)));
  CHECK(http.get("/readyz").status == 200);

  // A rebuild replays the poison event too: given up on before, it is given up on again, not halted on.
  const std::int64_t users = db.query_int("SELECT count(*) FROM user_projection");
  REQUIRE(http.post("/admin/rebuild/users").status == 202);
  REQUIRE(eventually([&] { return daemon.log().find("event=rebuild_ended swapped=true") != std::string::npos; }, 60s));
  REQUIRE(eventually([&] { return http.position("users") == head(db); }));
  CHECK(db.query_int("SELECT count(*) FROM user_projection") == users);
  CHECK(db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'users'") == 1);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("on SIGHUP added handlers start, removed ones stop, changed ones restart, and a bad file changes nothing") {
  TestDatabase db;
  write_events(db, 50);
  const std::string config = migrated(db, "reload.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  // Both lanes caught up and idle: a lane of the untouched handler that was still starting would look restarted.
  REQUIRE(eventually([&] { return http.position("user_log") == head(db) && http.state("users") == "idle"; }));
  const std::string event_log2 = "\n[handlers.second_log]\nkind = \"event_log\"\ntable = \"second_log\"\n";

  // Swap user_log for second_log (the read model's table is created by the new lane's setup).
  std::string without_log = demo_config();
  without_log.erase(without_log.find("[handlers.user_log]"));
  write_file("reload.toml", without_log + event_log2);
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] { return http.state("user_log").empty() && http.position("second_log") == head(db); }));
  CHECK(db.query_int("SELECT count(*) FROM second_log") == 50);
  CHECK(http.state("users") == "idle");
  CHECK(daemon.log().find("handler=users event=retiring") == std::string::npos);  // untouched: not restarted

  // A broken file is refused with its file:line; everything keeps running as it was.
  write_file("reload.toml", without_log + event_log2 + "colour = \"blue\"\n");
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] { return daemon.log().find("event=reload_rejected") != std::string::npos; }));
  CHECK(daemon.log().find("reload.toml:") != std::string::npos);
  write_events(db, 10);
  REQUIRE(eventually([&] { return db.query_int("SELECT count(*) FROM second_log") == 60; }));

  // A changed handler restarts from its checkpoint: nothing applied twice.
  write_file("reload.toml", without_log + event_log2 + "on_error = \"dead_letter\"\n");
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] { return daemon.log().find("handler=second_log event=retired") != std::string::npos; }));
  write_events(db, 5);
  REQUIRE(eventually([&] { return http.position("second_log") == head(db); }));
  CHECK(db.query_int("SELECT count(*) FROM second_log") == 65);
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM second_log") == 65);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a hole held open past stuck_after makes the handler stuck, named in /status and /readyz, until it ends") {
  TestDatabase db;
  write_events(db, 10);
  // Only the event log (dead_letter): the rows inserted below are not valid events, the writer cannot run
  // beside an open transaction (it locks the table), and no handler should halt on them.
  // The writer of this test does not lock the table: its positions may commit out of order.
  std::string log_only = demo_config(
      "", "commit_order = \"concurrent\"\nmax_hole_wait = \"10min\"\npoll_interval = \"100ms\"\n");
  log_only.erase(log_only.find("[handlers.users]"), log_only.find("[handlers.user_log]") - log_only.find("[handlers.users]"));
  const std::string config = migrated(db, "stuck.toml", "[daemon]\nstuck_after = \"1s\"\n" + log_only);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.position("user_log") == head(db); }));

  auto holder = db.connect();
  pqxx::work open_transaction(*holder);
  open_transaction.exec(kPoison);  // takes the next position and keeps it open
  const auto xid = open_transaction.exec1("SELECT txid_current()")[0].as<std::int64_t>();
  db.exec(kPoison);  // a later position, committed
  const bool got_stuck = eventually([&] { return http.state("user_log") == "stuck"; });
  INFO(http.get("/status").body);
  REQUIRE(got_stuck);
  const auto stuck = http.handler("user_log");
  // The oldest transaction still running: ours, or an older one of a test running beside this one.
  const std::string reason(stuck.at("reason").as_string());
  REQUIRE(reason.find("xid ") != std::string::npos);
  const auto named = std::stoll(reason.substr(reason.find("xid ") + 4));
  CHECK(named > 0);
  CHECK(named <= xid);
  const auto readiness = http.get("/readyz");
  CHECK(readiness.status == 503);
  CHECK(readiness.body.find("stuck") != std::string::npos);
  CHECK(http.get("/metrics").body.find(
            "projectord_handler_state{handler=\"user_log\",source=\"shop\",state=\"stuck\"} 1") != std::string::npos);

  open_transaction.abort();  // a rolled-back insert: a permanent hole, passed once its owner has ended
  REQUIRE(eventually([&] { return http.position("user_log") == head(db); }));
  REQUIRE(eventually([&] { return http.get("/readyz").status == 200; }));
  CHECK(http.state("user_log") == "idle");
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a database that accepts connections and never answers: /healthz answers, SIGTERM still stops the daemon") {
  // A listening socket nobody accepts from: the kernel completes the handshake, then nothing is ever said.
  boost::asio::io_context io;
  const boost::asio::ip::tcp::acceptor black_hole(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  const std::string url =
      "host=127.0.0.1 port=" + std::to_string(black_hole.local_endpoint().port()) + " dbname=nowhere";

  const std::string config = write_file("black-hole.toml", "[daemon]\nshutdown_timeout = \"1s\"\n" + demo_config());
  // The daemon bounds every blocking connection attempt (10 s unless PGCONNECT_TIMEOUT says otherwise); its
  // listeners connect without blocking at all.
  DaemonProcess daemon({kBinary, "--config", config, "run"}, {{"TEST_DATABASE_URL", url}});
  const Endpoint http(daemon);  // the start-up check gave up after the timeout and the HTTP endpoint came up
  CHECK(http.get("/healthz", 1s).status == 200);
  REQUIRE(eventually([&] { return http.get("/readyz").status == 503; }));
  CHECK(daemon.log().find("event=database_unreachable") != std::string::npos);
  const auto stop_sent = std::chrono::steady_clock::now();
  // Nothing on the io thread waits for the server, so SIGTERM is handled at once; lanes stuck in a connection
  // attempt end with it or are abandoned after shutdown_timeout (1 s, exit 1), far within the bound below.
  const int code = exit_code_after(daemon, SIGTERM);
  CHECK((code == 0 || code == 1));
  CHECK(std::chrono::steady_clock::now() - stop_sent < 6s);
}

namespace {

// Sends `bytes` on a fresh connection and returns what comes back before the server closes (or 5 s pass).
std::string raw_exchange(unsigned short port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  for (std::size_t sent = 0; sent < bytes.size();) {
    const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse before it has read everything
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  std::array<char, 4096> buffer{};
  for (;;) {
    const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    answer.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

}  // namespace

TEST_CASE("the daemon's HTTP endpoint refuses garbage and oversized requests and goes on serving") {
  TestDatabase db;
  write_events(db, 5);
  const std::string config = migrated(db, "garbage.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  const unsigned short port = http_port(daemon);

  const std::string garbage = raw_exchange(port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15));
  CHECK((garbage.empty() || garbage.starts_with("HTTP/1.1 400")));
  const std::string body(200 * 1024, 'x');
  const std::string oversized = raw_exchange(
      port, "POST /admin/pause/users HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body);
  CHECK(oversized.starts_with("HTTP/1.1 413"));
  const std::string huge_header =
      raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(64 * 1024, 'y') + "\r\n\r\n");
  CHECK((huge_header.starts_with("HTTP/1.1 431") || huge_header.starts_with("HTTP/1.1 400")));
  CHECK(http.state("users") != "paused");  // the refused request never reached the handler
  CHECK(http.get("/healthz").status == 200);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("dead letters are listed in /status, applied again by retry once fixed, and deleted by drop") {
  TestDatabase db;
  write_events(db, 40);
  const std::string config = migrated(
      db, "letters.toml",
      demo_config() + closed_registrations_handler());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  const std::int64_t registered = db.query_int("SELECT count(*) FROM stored_events WHERE topic LIKE '%UserRegistered'");
  REQUIRE(registered > 2);
  const auto letters = [&] {
    return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'registrations'");
  };
  REQUIRE(eventually([&] { return http.position("registrations") == head(db) && letters() == registered; }));

  const auto status = run_command({kBinary, "--config", config, "status"}, env_for(db));
  const std::string first_id =
      db.query_value("SELECT min(id) FROM projectord.dead_letters WHERE handler = 'registrations'");
  CHECK_THAT(status.output, Catch::Contains("  dead_letter id=" + first_id + " position=") &&
                                Catch::Contains("error_class=check_violation"));
  const auto shown = run_command({kBinary, "--config", config, "status", "--show-errors"}, env_for(db));
  CHECK_THAT(shown.output, Catch::Contains("violates check constraint"));

  // Still broken: the retried letter stays, with one more attempt.
  REQUIRE(http.post("/admin/retry/registrations?id=" + first_id).status == 202);
  REQUIRE(eventually([&] {
    return db.query_int("SELECT attempts FROM projectord.dead_letters WHERE id = " + first_id) == 2;
  }));
  // Dropped for good through the CLI.
  const std::string endpoint = "127.0.0.1:" + std::to_string(http_port(daemon));
  const auto dropped = run_command(
      {kBinary, "--config", config, "drop", "registrations", "--id", first_id, "--http", endpoint}, env_for(db));
  CHECK(dropped.exit_code == 0);
  REQUIRE(eventually([&] { return letters() == registered - 1; }));

  // Fixed: a retry of all applies every event left, out of order, and empties the letters.
  db.exec("ALTER TABLE registrations DROP CONSTRAINT closed");
  const auto retried =
      run_command({kBinary, "--config", config, "retry", "registrations", "--http", endpoint}, env_for(db));
  CHECK(retried.exit_code == 0);
  REQUIRE(eventually([&] { return letters() == 0; }));
  CHECK(db.query_int("SELECT count(*) FROM registrations") == registered - 1);
  CHECK(http.post("/admin/retry/registrations?id=x").status == 400);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
