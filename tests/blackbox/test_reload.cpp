// SIGHUP reloads that arrive while a changed handler's old lane is still finishing its work in flight: the
// replacement waits for that lane, and a later reload replaces the waiting replacement instead of the lane.
#include <catch2/catch.hpp>
#include <csignal>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::ScriptedResponse;
using projectord::testing::TestDatabase;
using projectord::testing::WebhookReceiver;

namespace {

// The demo config plus a webhook handler `hook` whose receiver is `receiver`.
std::string with_hook(const std::string& config, const WebhookReceiver& receiver, int max_attempts) {
  return config + "\n[handlers.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
         std::to_string(receiver.port()) + "/events\"\nrequest_timeout = \"20s\"\nmax_attempts = " +
         std::to_string(max_attempts) + "\n";
}

}  // namespace

TEST_CASE("reloads while a changed webhook's old lane waits on its receiver keep the daemon up and end with the last file's handlers") {
  TestDatabase db;
  write_events(db, 10);
  WebhookReceiver receiver([](std::size_t, const auto&) { return ScriptedResponse{200}; });
  receiver.hold();  // accepts every request and answers none until released
  const std::string config = migrated(db, "reload_pending.toml", with_hook(demo_config(), receiver, 5));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return !receiver.requests().empty(); }));

  // The first reload retires the hook's lane, which stays in its request: its replacement waits for it.
  write_file("reload_pending.toml", with_hook(demo_config(), receiver, 6));
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] { return daemon.log().find("handler=hook event=retiring") != std::string::npos; }));
  REQUIRE(eventually([&] { return daemon.log().find("event=reloaded") != std::string::npos; }));

  // The second changes the hook again while only its replacement is pending.
  write_file("reload_pending.toml", with_hook(demo_config(), receiver, 7));
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] { return occurrences(daemon.log(), "event=reloaded") == 2 || !daemon.running(); }));
  REQUIRE(daemon.running());

  // The third removes user_log and changes the hook once more.
  std::string without_log = demo_config();
  without_log.erase(without_log.find("[handlers.user_log]"));
  write_file("reload_pending.toml", with_hook(without_log, receiver, 8));
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] { return occurrences(daemon.log(), "event=reloaded") == 3 || !daemon.running(); }));
  REQUIRE(daemon.running());

  // Once the receiver answers, the old lane ends and only the last replacement starts.
  receiver.release();
  REQUIRE(eventually([&] { return daemon.log().find("handler=hook event=retired") != std::string::npos; }));
  REQUIRE(eventually([&] { return http.position("hook") == head(db); }));
  CHECK(http.state("user_log").empty());
  CHECK(http.position("users") == head(db));
  CHECK(occurrences(daemon.log(), "handler=hook source=shop event=started") == 2);  // at start-up and the last
  CHECK(daemon.running());
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
