// Blue/green rebuilds of a partitioned projection (`partitions = K`) as a black box: its K partitions replay into
// one shadow and swap in once, under a write load, through kill -9, into another partition count, and with live
// partitions held by a second daemon, which commit nothing into the swapped tables from their old checkpoints.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing;
using namespace projectord::testing::blackbox;

namespace {

// The demo's handlers with users in `partitions` partitions (user_log in `log_partitions`), plus `users_check`:
// the users read model unpartitioned and never rebuilt, to compare with. Small batches: many transactions.
std::string partitioned_rebuild_config(int partitions, int log_partitions = 1) {
  std::string config = with_admin_token(demo_config("", "batch_size = 200\n"));
  const auto partitioned = [&](const std::string& kind, int count) {
    if (count <= 1) return;
    const std::string line = "kind = \"" + kind + "\"\n";
    config.insert(config.find(line) + line.size(), "partitions = " + std::to_string(count) + "\n");
  };
  partitioned("users", partitions);
  partitioned("event_log", log_partitions);
  return config + "\n[handlers.users_check]\nkind = \"users\"\ntable = \"user_projection_check\"\n";
}

// Every live checkpoint of users, in `partitions` partitions, and users_check at the head.
bool users_caught_up(const TestDatabase& db, int partitions) {
  const std::int64_t at = head(db);
  if (checkpoint(db, "users_check") != at) return false;
  for (int p = 0; p < partitions; ++p) {
    if (checkpoint(db, "users/" + std::to_string(p)) != at) return false;
  }
  return true;
}

bool partition_rebuild_recorded(const TestDatabase& db, const std::string& handler = "users") {
  return db.query_int("SELECT count(*) FROM projectord.rebuilds WHERE handler = '" + handler + "'") == 1;
}

// What a swapped partitioned rebuild of users leaves: the model equal to the never-rebuilt one, each partition of
// the configured count at the head, its count recorded, no checkpoint of another count and no trace of the rebuild.
void check_swapped(const TestDatabase& db, int partitions) {
  REQUIRE(eventually([&] { return !partition_rebuild_recorded(db); }, 90s));
  REQUIRE(eventually([&] { return users_caught_up(db, partitions); }, 60s));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(db.query_int("SELECT count(*) FROM user_projection") > 0);
  CHECK(db.query_int("SELECT partitions FROM projectord.partitionings WHERE handler = 'users'") == partitions);
  CHECK(db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE handler LIKE 'users/%'") == partitions);
  CHECK(db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE handler LIKE '%:rebuild'") == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projectord\\_%\\_users'") == 0);
}

}  // namespace

TEST_CASE("a partitioned projection rebuilt under a write load swaps all its partitions in at once, exact") {
  TestDatabase db;
  write_events(db, 3000);
  const std::string config = migrated(db, "partition-rebuild.toml", partitioned_rebuild_config(3));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon, kAdminToken);
  REQUIRE(eventually([&] { return users_caught_up(db, 3); }, 60s));
  const auto old_table = db.query_int("SELECT 'user_projection'::regclass::oid");

  DaemonProcess writer({kWriter, "--url", db.url(), "--events", "2000", "--zlib", "--per-transaction", "2"}, {});
  const HttpReply one = http.post("/admin/rebuild/users/1");
  CHECK(one.status == 409);
  CHECK(one.body.find("share one read model: rebuild users, which rebuilds all its partitions together") !=
        std::string::npos);
  const HttpReply accepted = http.post("/admin/rebuild/users");
  REQUIRE(accepted.status == 202);
  CHECK(accepted.body.find("its 3 partitions") != std::string::npos);
  REQUIRE(eventually([&] { return !http.handler("users/2").at("rebuild").is_null(); }));
  REQUIRE(writer.wait_exit(90s) == 0);
  check_swapped(db, 3);
  CHECK(db.query_int("SELECT 'user_projection'::regclass::oid") != old_table);

  const std::string log = daemon.log();
  CHECK(occurrences(log, "handler=users event=rebuild_started ") == 1);  // one begin for the three lanes
  CHECK(occurrences(log, "handler=users event=rebuild_swapped ") == 1);   // one swap
  CHECK(occurrences(log, "event=rebuild_ended swapped=true") == 3);
  CHECK(occurrences(log, "action=waiting_for_partitions") >= 3);
  for (int p = 0; p < 3; ++p) CHECK(http.handler("users/" + std::to_string(p)).at("rebuild").is_null());

  // The live partitions go on from the swapped checkpoints.
  write_events(db, 60);
  REQUIRE(eventually([&] { return users_caught_up(db, 3); }, 60s));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("kill -9 during a partitioned rebuild's replay resumes each partition from its own shadow checkpoint") {
  TestDatabase db;
  write_events(db, 20000, 50);
  const std::string config =
      migrated(db, "partition-rebuild-crash.toml", with_fold_memory(partitioned_rebuild_config(3), "1MiB"));
  {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    const Endpoint http(daemon, kAdminToken);
    REQUIRE(eventually([&] { return users_caught_up(db, 3); }, 90s));
    REQUIRE(http.post("/admin/rebuild/users").status == 202);
    REQUIRE(eventually([&] {
      return checkpoint(db, "users/0:rebuild") > 0 && checkpoint(db, "users/1:rebuild") > 0 &&
             checkpoint(db, "users/2:rebuild") > 0;
    }));
    daemon.signal(SIGKILL);
    REQUIRE(daemon.wait_exit(20s).has_value());
  }
  REQUIRE(partition_rebuild_recorded(db));
  CHECK(db.query_int("SELECT partitions FROM projectord.rebuilds WHERE handler = 'users'") == 3);
  std::vector<std::int64_t> replayed;
  for (int p = 0; p < 3; ++p) replayed.push_back(checkpoint(db, "users/" + std::to_string(p) + ":rebuild"));
  REQUIRE(std::any_of(replayed.begin(), replayed.end(), [&](std::int64_t at) { return at < head(db); }));

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return daemon.log().find("handler=users event=rebuild_resumed") != std::string::npos; }));
  check_swapped(db, 3);
  const std::string log = daemon.log();
  CHECK(log.find("handler=users event=rebuild_started") == std::string::npos);  // resumed, not begun again
  for (int p = 0; p < 3; ++p) {
    // Each partition's rebuild lane started where its shadow checkpoint was.
    CHECK(log.find("checkpoint=users/" + std::to_string(p) + ":rebuild position=" +
                   std::to_string(replayed[static_cast<std::size_t>(p)])) != std::string::npos);
  }
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a rebuild under another partition count swaps in the model kept in it, and the live lanes run under it") {
  TestDatabase db;
  write_events(db, 1500);
  const std::string text = partitioned_rebuild_config(3);
  const std::string config = migrated(db, "partition-rebuild-count.toml", text);
  {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    REQUIRE(eventually([&] { return users_caught_up(db, 3); }, 60s));
    REQUIRE(exit_code_after(daemon, SIGTERM) == 0);
  }
  std::string two = text;
  two.replace(two.find("partitions = 3"), 14, "partitions = 2");
  write_file("partition-rebuild-count.toml", two);
  write_events(db, 300);

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon, kAdminToken);
  REQUIRE(eventually([&] {
    const boost::json::object lane = http.handler("users/1");
    return !lane.empty() && lane.contains("last_error") &&
           std::string(lane.at("last_error").as_string()).find("has its checkpoints in 3 partition(s)") !=
               std::string::npos;
  }));
  REQUIRE(http.post("/admin/rebuild/users").status == 202);
  check_swapped(db, 2);
  CHECK(checkpoint(db, "users/2") == -1);

  write_events(db, 60);
  REQUIRE(eventually([&] { return users_caught_up(db, 2); }, 60s));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(http.state("users/0") == "idle");
  CHECK(http.state("users/1") == "idle");
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("live partitions held by a second daemon commit nothing into the swapped tables from their old checkpoints") {
  TestDatabase db;
  write_events(db, 3000);
  const std::string config = migrated(db, "partition-rebuild-fence.toml", partitioned_rebuild_config(3, 2));
  auto a = start_daemon(db, config);
  auto b = start_daemon(db, config);
  const auto held_by = [&](const DaemonProcess& daemon, const std::string& like) {
    return db.query_int("SELECT count(*) FROM projectord.leases WHERE pid = " + std::to_string(daemon.pid()) +
                        " AND expires_at > now() AND name LIKE '" + like + "'");
  };
  // The spread gives each daemon some of the partitions of the rebuilt handlers (users and user_log).
  REQUIRE(eventually([&] {
    return held_by(*b, "user%/%") >= 1 && held_by(*a, "user%/%") >= 1 && users_caught_up(db, 3);
  }, 90s));
  const Endpoint http(*a, kAdminToken);

  DaemonProcess writer({kWriter, "--url", db.url(), "--events", "3000", "--zlib", "--per-transaction", "2"}, {});
  REQUIRE(http.post("/admin/rebuild/users").status == 202);
  REQUIRE(http.post("/admin/rebuild/user_log").status == 202);
  REQUIRE(eventually([&] { return !partition_rebuild_recorded(db, "users") && !partition_rebuild_recorded(db, "user_log"); }, 90s));
  REQUIRE(writer.wait_exit(90s) == 0);
  check_swapped(db, 3);
  REQUIRE(eventually([&] { return logged_events(db) == head(db); }, 60s));
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == head(db));
  // b's lanes were fenced by the swap: their next commit failed, and they took their leases again.
  CHECK(b->log().find("lost its lease") != std::string::npos);
  CHECK(exit_code_after(*a, SIGTERM) == 0);
  CHECK(exit_code_after(*b, SIGTERM) == 0);
}
