// Several daemons on one config of twelve handlers, two of them partitioned: they spread the handlers'
// lanes evenly, and when one is killed, cut off past its lease, stopped or joined by another, the live ones
// share its lanes again; every read model ends equal to an uninterrupted run's, with no event applied twice,
// and the webhook's receiver gets every event at most max_attempts times.
#include <signal.h>

#include <chrono>
#include <map>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

// Five copies of the demo's two handlers (users and user_log), each copy with tables of its own, a sixth
// users copy in 2 partitions and a webhook in 2: twelve handlers, fourteen lanes.
constexpr int kCopies = 5;
constexpr int kLanes = 2 * kCopies + 2 + 2;
constexpr int kSpreadMaxAttempts = 5;

// Every lane a daemon takes over gets its connections at once: the failovers are timed.
std::string twelve_handlers(const WebhookReceiver& receiver) {
  std::string config = with_max_connections(demo_config("_0"), 2 * kLanes + 4);
  for (int copy = 1; copy <= kCopies; ++copy) {
    const std::string more = demo_config("_" + std::to_string(copy));
    config += more.substr(more.find("\n[handlers."), copy == kCopies ? more.find("\n[handlers.user_log") -
                                                                          more.find("\n[handlers.")
                                                                    : std::string::npos);
  }
  const std::string partitioned = "table = \"user_projection_" + std::to_string(kCopies) + "\"\n";
  config.insert(config.find(partitioned) + partitioned.size(), "partitions = 2\n");
  return config + "\n[handlers.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" + std::to_string(receiver.port()) +
         "/events\"\npartitions = 2\nmax_attempts = " + std::to_string(kSpreadMaxAttempts) + "\n";
}

bool lanes_caught_up(const TestDatabase& db) { return checkpoints_at_head(db) == kLanes; }

// The lanes are spread over `daemons` as evenly as they go (each holds ⌊L/N⌋ or ⌈L/N⌉ of L lanes), and every
// lane has caught up.
bool spread(const TestDatabase& db, const std::vector<const DaemonProcess*>& daemons) {
  const auto n = static_cast<std::int64_t>(daemons.size());
  std::int64_t held = 0;
  for (const DaemonProcess* daemon : daemons) {
    const std::int64_t own = leases_held(db, *daemon);
    if (own != kLanes / n && own != (kLanes + n - 1) / n) return false;
    held += own;
  }
  return held == kLanes && lanes_caught_up(db);
}

// Every copy's log holds each event once, every copy's users model equals an uninterrupted run's, and the
// receiver got every event, none more than max_attempts times.
void check_exact(const TestDatabase& db, const WebhookReceiver& receiver) {
  const std::string reference = migrated(db, "spread-reference.toml", demo_config("_ref"));
  REQUIRE(run_command({kBinary, "--config", reference, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
  for (int copy = 0; copy <= kCopies; ++copy) {
    const std::string suffix = "_" + std::to_string(copy);
    if (copy < kCopies) {
      CHECK(db.query_int("SELECT count(*) FROM user_event_log" + suffix) == head(db));
      CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log" + suffix) == head(db));
    }
    CHECK(users_differences(db, "user_projection" + suffix, "user_projection_ref") == 0);
  }
  std::map<std::string, int> deliveries;
  for (const auto& request : receiver.requests()) ++deliveries[request.headers.at("idempotency-key")];
  CHECK(static_cast<std::int64_t>(deliveries.size()) == db.query_int("SELECT count(*) FROM stored_events"));
  for (const auto& [key, times] : deliveries) {
    INFO(key);
    CHECK(times <= kSpreadMaxAttempts);
  }
}

}  // namespace

TEST_CASE("daemons spread twelve handlers evenly and share them again as each is killed, cut off, stopped or joins") {
  TestDatabase db;
  write_events(db, 30);
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{}; });
  const std::string config = migrated(db, "spread.toml", twelve_handlers(receiver));

  auto a = start_daemon(db, config);
  REQUIRE(eventually([&] { return spread(db, {a.get()}); }, 60s));
  auto b = start_daemon(db, config);
  REQUIRE(eventually([&] { return spread(db, {a.get(), b.get()}); }, 60s));
  auto c = start_daemon(db, config);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {a.get(), b.get(), c.get()}); }, 60s));

  // kill -9: the two left take its lanes over within 5 s.
  a->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return leases_held(db, *b) + leases_held(db, *c) == kLanes; }, 30s, 20ms));
  CHECK(std::chrono::steady_clock::now() - killed < 5s);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {b.get(), c.get()}); }, 60s));

  auto d = start_daemon(db, config);
  REQUIRE(eventually([&] { return spread(db, {b.get(), c.get(), d.get()}); }, 60s));

  // Stopped past its lease: taken over; woken: it commits nothing stale and gets its share back.
  b->signal(SIGSTOP);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {c.get(), d.get()}); }, 60s));
  b->signal(SIGCONT);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {b.get(), c.get(), d.get()}); }, 60s));

  CHECK(exit_code_after(*c, SIGTERM) == 0);
  REQUIRE(eventually([&] { return leases_held(db, *b) + leases_held(db, *d) == kLanes; }, 30s));
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {b.get(), d.get()}); }, 60s));
  check_exact(db, receiver);
}

TEST_CASE("a daemon pinned to some handlers runs only those, and the others spread over the rest") {
  TestDatabase db;
  write_events(db, 30);
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{}; });
  const std::string all = migrated(db, "unpinned.toml", twelve_handlers(receiver));
  const std::string pinned = write_file("pinned.toml", "[daemon]\nhandlers = [\"users_0\", \"user_log_0\"]\n\n" +
                                                           twelve_handlers(receiver));

  auto a = start_daemon(db, all);
  auto b = start_daemon(db, all);
  auto p = start_daemon(db, pinned);
  // ⌈14/3⌉ = 5 each is more than the pinned one can run: it holds its two, the others six each.
  REQUIRE(eventually([&] {
    return leases_held(db, *p) == 2 && leases_held(db, *a) == 6 && leases_held(db, *b) == 6 && lanes_caught_up(db);
  }, 60s));
  CHECK(db.query_int("SELECT count(*) FROM projectord.leases WHERE pid = " + std::to_string(p->pid()) +
                     " AND name IN ('users_0', 'user_log_0') AND expires_at > now()") == 2);
  CHECK(db.query_int("SELECT count(*) FROM projectord.lease_standbys WHERE pid = " + std::to_string(p->pid()) +
                     " AND name NOT IN ('users_0', 'user_log_0')") == 0);
}
