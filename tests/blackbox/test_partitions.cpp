// Partitioned handlers (`partitions = K`): each partition a lane of its own, with its own checkpoint and
// lease, so that several daemons work on one handler at once while each stream's events stay in one lane, in
// order. The models end equal to an unpartitioned run's; a webhook's receiver gets every event, each stream's
// in position order.
#include <signal.h>

#include <chrono>
#include <map>
#include <set>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitionLanes = 3 + 2 + 4;  // users, user_log and hook's partitions

// The demo config with users in 3 partitions and user_log in 2, and a webhook `hook` in 4 sending one request at
// a time (so that its receiver sees each partition's order). Every lane a daemon takes over gets its
// connections at once: the failover is timed.
std::string partitioned_config(const WebhookReceiver& receiver) {
  std::string config = with_max_connections(with_admin_token(demo_config()), 2 * kPartitionLanes + 4);
  const auto partitions = [&](const std::string& kind, int count) {
    const std::string line = "kind = \"" + kind + "\"\n";
    config.insert(config.find(line) + line.size(), "partitions = " + std::to_string(count) + "\n");
  };
  partitions("users", 3);
  partitions("event_log", 2);
  return config + "\n[handlers.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
         std::to_string(receiver.port()) + "/events\"\npartitions = 4\nmax_in_flight = 1\n";
}

bool partitions_caught_up(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE position = (SELECT max(id) FROM "
                      "stored_events)") == kPartitionLanes;
}

// Every event reached the receiver, and each stream's events first arrived in position order.
void check_deliveries(const TestDatabase& db, const WebhookReceiver& receiver) {
  std::set<std::int64_t> delivered;
  std::map<std::string, std::int64_t> last_first_delivery;  // by stream
  for (const auto& request : receiver.requests()) {
    const boost::json::object body = boost::json::parse(request.body).as_object();
    const std::int64_t position = body.at("position").as_int64();
    if (!delivered.insert(position).second) continue;  // again after a kill: at least once
    std::int64_t& last = last_first_delivery[std::string(body.at("stream_id").as_string())];
    CHECK(position > last);
    last = position;
  }
  CHECK(static_cast<std::int64_t>(delivered.size()) == db.query_int("SELECT count(*) FROM stored_events"));
}

}  // namespace

TEST_CASE("daemons share the partitions of partitioned handlers, each stream in one lane in order, the models exact") {
  TestDatabase db;
  write_events(db, 30);
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{}; });
  const std::string config = migrated(db, "partitions.toml", partitioned_config(receiver));

  auto a = start_daemon(db, config);
  auto b = start_daemon(db, config);
  REQUIRE(eventually([&] {
    const std::int64_t held_a = leases_held(db, *a), held_b = leases_held(db, *b);
    return held_a + held_b == kPartitionLanes && held_a >= 4 && held_b >= 4 && partitions_caught_up(db);
  }, 60s));
  CHECK(db.query_int("SELECT partitions FROM projectord.partitionings WHERE handler = 'hook'") == 4);
  // Each process holds some partitions and stands by for the others, whose owner's checkpoints it reads as it
  // asks for their leases: a wait for the whole handler completes on either.
  for (const DaemonProcess* daemon : {a.get(), b.get()}) {
    const Endpoint http(*daemon);
    CHECK(http.get("/wait/users?position=" + std::to_string(head(db)) + "&timeout_ms=10000").status == 200);
  }

  write_events(db, 30);
  a->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return leases_held(db, *b) == kPartitionLanes; }, 30s, 20ms));
  CHECK(std::chrono::steady_clock::now() - killed < 5s);
  auto c = start_daemon(db, config);
  write_events(db, 30);
  REQUIRE(eventually([&] { return leases_held(db, *b) >= 4 && leases_held(db, *c) >= 4 && partitions_caught_up(db); }, 60s));

  const std::string reference = migrated(db, "partitions-reference.toml", demo_config("_ref"));
  REQUIRE(run_command({kBinary, "--config", reference, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
  CHECK(users_differences(db, "user_projection", "user_projection_ref") == 0);
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == head(db));
  CHECK(logged_events(db) == head(db));
  check_deliveries(db, receiver);
}

TEST_CASE("a partitioned handler answers /status per partition, /wait and pause for the whole, and refuses a new count") {
  TestDatabase db;
  write_events(db, 30);
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{}; });
  const std::string text = partitioned_config(receiver);
  const std::string config = migrated(db, "partitions-one.toml", text);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon, kAdminToken);

  const HttpReply waited = http.get("/wait/users?position=" + std::to_string(head(db)) + "&timeout_ms=60000", 65s);
  CHECK(waited.status == 200);
  const boost::json::object users_1 = http.handler("users/1");
  REQUIRE_FALSE(users_1.empty());
  CHECK(users_1.at("partition").at("handler") == "users");
  CHECK(users_1.at("partition").at("index") == 1);
  CHECK(users_1.at("partition").at("count") == 3);
  CHECK(http.handler("users").empty());  // the handler runs as its partitions

  CHECK(http.post("/admin/pause/users").status == 202);
  REQUIRE(eventually([&] {
    return http.state("users/0") == "paused" && http.state("users/1") == "paused" && http.state("users/2") == "paused";
  }));
  CHECK(http.state("user_log/0") != "paused");
  const HttpReply skip = http.post("/admin/skip/users");
  CHECK(skip.status == 409);
  CHECK(skip.body.find("name one of its partitions, users/0 .. users/2") != std::string::npos);
  CHECK(http.post("/admin/resume/users").status == 202);

  // Four partitions of a projection kept in three: refused, saying why; its checkpoints stay.
  std::string four = text;
  four.replace(four.find("partitions = 3"), 14, "partitions = 4");
  write_file("partitions-one.toml", four);
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] {
    const boost::json::object lane = http.handler("users/3");
    return !lane.empty() && lane.contains("last_error") &&
           std::string(lane.at("last_error").as_string()).find("has its checkpoints in 3 partition(s)") != std::string::npos;
  }));
  CHECK(db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE handler LIKE 'users/%'") == 3);
  CHECK(http.state("user_log/1") == "idle");
}
