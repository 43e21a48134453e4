#include "tests/faults/storm.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>
#include <set>
#include <thread>
#include <utility>

#include "bench/support/store.hpp"
#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/faults/reference_models.hpp"
#include "tests/support/redis_test_stream.hpp"

namespace projectord::testing::faults {

namespace {

using namespace std::chrono_literals;
using blackbox::kAdminToken;
using blackbox::kBinary;

constexpr int kWebhookMaxAttempts = 5;
const std::vector<std::string> kStoreHandlers{"users", "user_log", "hooks"};

std::uint64_t seed_from_environment() {
  if (const char* text = std::getenv("PROJECTORD_FAULT_SEED"); text != nullptr && *text != '\0') {
    return std::stoull(text);
  }
  return std::random_device()();
}

// `variant` changes the webhook's request_timeout: a reload that restarts that handler alone.
std::string storm_config(const std::string& stream, unsigned short webhook_port, int variant = 0) {
  return "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n"
         "[http]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"" + kAdminToken + "\"\n\n"
         "[sources.shop]\npreset = \"eventsourcing_django\"\napplication_name = \"Shop\"\n"
         "codec = \"eventsourcing_json\"\ncommit_order = \"concurrent\"\nbatch_size = 1000\n\n"
         "[sources.events]\nkind = \"redis\"\nurl = \"${PROJECTORD_TEST_REDIS}\"\nstream = \"" + stream + "\"\n"
         "consumer = \"storm\"\nblock = \"200ms\"\nclaim_idle = \"1s\"\nbatch_size = 200\n\n"
         "[handlers.users]\nkind = \"users\"\nsource = \"shop\"\n\n"
         "[handlers.user_log]\nkind = \"event_log\"\nsource = \"shop\"\n\n"
         "[handlers.hooks]\nkind = \"webhook\"\nsource = \"shop\"\nurl = \"http://127.0.0.1:" +
         std::to_string(webhook_port) + "/hooks\"\nmax_attempts = " + std::to_string(kWebhookMaxAttempts) +
         "\nrequest_timeout = \"" + std::to_string(10 + variant) + "s\"\n\n"
         "[handlers.redis_log]\nkind = \"event_log\"\nsource = \"events\"\ntable = \"redis_event_log\"\n";
}

// From a few milliseconds to two seconds, evenly spread on a log scale: as many kills within the first
// transactions of a start as within its steady state.
std::chrono::milliseconds kill_delay(std::mt19937_64& random) {
  const double exponent = std::uniform_real_distribution<double>(std::log(5.0), std::log(2000.0))(random);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::exp(exponent)));
}

std::string tail(const std::string& log, std::size_t bytes = 4000) {
  return log.size() <= bytes ? log : log.substr(log.size() - bytes);
}

}  // namespace

Storm::Storm(std::string scenario)
    : seed_(seed_from_environment()),
      random_(seed_),
      stream_(unique_redis_name("storm")),
      receiver_([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{}; }) {
  figures_.scenario = std::move(scenario);
  std::cout << figures_.scenario << ": seed " << seed_ << " (PROJECTORD_FAULT_SEED=" << seed_ << " repeats it)"
            << std::endl;
  // The demo writer's DDL is eventsourcing_django's stored_events; its events come from the writers.
  const RunResult created = run_command({blackbox::kWriter, "--url", db_.url(), "--events", "0"});
  INFO(created.output);
  REQUIRE(created.exit_code == 0);
  env_ = blackbox::env_for(db_);
  config_ = blackbox::migrated(db_, "storm.toml", storm_config(stream_, receiver_.port()));
}

Storm::~Storm() {
  if (!reported_) report(figures_);  // a scenario that failed before its end reports what it got to
  if (writers_) writers_->stop();
  daemon_.reset();
  Admin redis;
  (void)redis.send({"DEL", stream_});
}

std::vector<std::string> Storm::command(const std::string& action) const {
  return {kBinary, "--config", config_, action};
}

void Storm::start_writers(std::int64_t backlog, std::chrono::milliseconds mean_pause) {
  WriterLoad load;
  load.seed = seed_;
  load.mean_pause = mean_pause;
  load.redis_stream = stream_;
  writers_ = std::make_unique<OutOfOrderWriters>(db_.url(), load);
  writers_->preload(backlog);
  writers_->start();
}

void Storm::kill_at_random_moment() {
  DaemonProcess daemon(command("run"), env_);
  const int kind = std::uniform_int_distribution<int>(0, 9)(random_);
  auto delay = kill_delay(random_);
  if (kind < 2) {  // mid-rebuild, or as the swap begins
    blackbox::Endpoint(daemon, kAdminToken).post("/admin/rebuild/users");
    ++kills_in_rebuild_;
    if (kind == 1 &&
        eventually([&] { return daemon.log().find("event=rebuild_caught_up") != std::string::npos; }, 15s, 1ms)) {
      ++kills_at_swap_;
      delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 30)(random_));
    }
  }
  std::this_thread::sleep_for(delay);  // the fault's moment, not a wait for anything
  INFO("the daemon ended before its kill:\n" << tail(daemon.log()));
  REQUIRE(daemon.running());
  figures_.observe(daemon.pid());
  daemon.signal(SIGKILL);
  REQUIRE(daemon.wait_exit(20s).has_value());
  ++figures_.faults_injected;
}

void Storm::kill_while_swap_waits_for_reader() {
  DaemonProcess daemon(command("run"), env_);
  const auto reader_connection = db_.connect();
  pqxx::work reader(*reader_connection);
  reader.exec("SELECT count(*) FROM user_projection");  // holds the live table until the reader ends
  blackbox::Endpoint(daemon, kAdminToken).post("/admin/rebuild/users");
  // The swap asks for the live table with a lock_timeout and asks again, so its wait shows up within one poll.
  const bool swap_waits = eventually(
      [&] {
        return db_.query_int("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                             "to_regclass('public.user_projection')") > 0;
      },
      120s, 1ms);
  INFO("the rebuild's swap never waited for the reader:\n" << tail(daemon.log()));
  REQUIRE(swap_waits);
  figures_.observe(daemon.pid());
  daemon.signal(SIGKILL);
  REQUIRE(daemon.wait_exit(20s).has_value());
  reader.abort();
  ++kills_in_swap_;
  ++figures_.faults_injected;
}

DaemonProcess& Storm::daemon() {
  if (!daemon_) daemon_ = std::make_unique<DaemonProcess>(command("run"), env_);
  return *daemon_;
}

void Storm::request_rebuild() {
  const auto reply = blackbox::Endpoint(daemon(), kAdminToken).post("/admin/rebuild/users");
  INFO(reply.body);
  CHECK((reply.status == 202 || reply.status == 409));
}

void Storm::reload() {
  ++reloads_;
  std::ofstream(config_) << storm_config(stream_, receiver_.port(), reloads_ % 2);
  daemon().signal(SIGHUP);
}

bool Storm::caught_up(std::int64_t head, std::size_t streamed) const {
  const std::int64_t behind = db_.query_int(
      "SELECT count(*) FROM unnest(ARRAY['users', 'user_log', 'hooks']) AS h(name)"
      " LEFT JOIN projectord.checkpoints c ON c.handler = h.name WHERE coalesce(c.position, 0) < " +
      std::to_string(head));
  return behind == 0 && db_.query_int("SELECT count(*) FROM projectord.rebuilds") == 0 &&
         db_.query_int("SELECT count(DISTINCT (user_id, event_version)) FROM redis_event_log") ==
             static_cast<std::int64_t>(streamed);
}

void Storm::finish_and_check() {
  writers_->stop();
  std::cout << figures_.scenario << ": " << figures_.faults_injected << " faults, " << kills_in_rebuild_
            << " kills after a rebuild request, " << kills_at_swap_ << " as its swap began, " << kills_in_swap_
            << " while it waited for a reader; writers rolled back "
            << writers_->rollbacks() << " transactions and held " << writers_->holds() << " open" << std::endl;
  INFO("writers failed:\n" << writers_->errors());
  REQUIRE(writers_->errors().empty());
  const std::vector<std::int64_t> ids = writers_->committed_ids();
  const std::vector<StreamedEvent> streamed = writers_->streamed();
  REQUIRE(!ids.empty());
  const std::int64_t head = ids.back();
  figures_.events_written = static_cast<std::int64_t>(ids.size());
  // The writers' record is exact: the store holds what they say they committed, no more.
  REQUIRE(db_.query_int("SELECT count(*) FROM stored_events") == figures_.events_written);
  REQUIRE(db_.query_int("SELECT max(id) FROM stored_events") == head);

  DaemonProcess& running = daemon();
  const bool finished = eventually(
      [&] { return !running.running() || caught_up(head, streamed.size()); }, std::chrono::minutes(3), 200ms);
  INFO("the daemon did not catch up (or ended); its log's tail:\n" << tail(running.log()));
  REQUIRE(running.running());
  REQUIRE(finished);
  figures_.observe(running.pid());
  running.signal(SIGTERM);
  CHECK(running.wait_exit(60s) == 0);

  auto connection = db_.connect();
  const ReferenceComparison models = compare_with_reference(*connection, head);
  figures_.events_applied = db_.query_int("SELECT count(DISTINCT global_position) FROM user_event_log");

  std::map<std::int64_t, int> deliveries;
  for (const ReceivedRequest& request : receiver_.requests()) {
    const std::string& key = request.headers.at("idempotency-key");  // "shop:POSITION"
    ++deliveries[std::stoll(key.substr(key.find(':') + 1))];
  }
  std::int64_t hooks_lost = 0;
  std::int64_t hooks_over = 0;
  std::string hooks_sample;
  for (const std::int64_t id : ids) {
    const int times = deliveries.count(id) == 0 ? 0 : deliveries.at(id);
    if (times == 0 || times > kWebhookMaxAttempts) {
      (times == 0 ? hooks_lost : hooks_over) += 1;
      if (hooks_sample.size() < 400) hooks_sample += " position " + std::to_string(id) + " x" + std::to_string(times);
    }
  }

  std::map<std::pair<std::string, std::int64_t>, int> logged;
  {
    pqxx::nontransaction txn(*connection);
    for (const auto& row : txn.exec("SELECT user_id, event_version FROM redis_event_log")) {
      ++logged[{row[0].as<std::string>(), row[1].as<std::int64_t>()}];
    }
  }
  std::int64_t redis_lost = 0;
  std::int64_t redis_extra = 0;
  std::string redis_sample;
  std::set<std::pair<std::string, std::int64_t>> expected;
  for (const StreamedEvent& event : streamed) expected.insert({event.stream_id, event.version});
  for (const auto& [event, times] : logged) {
    if (expected.count(event) == 0 || times > 1) {
      redis_extra += expected.count(event) == 0 ? times : times - 1;
      if (redis_sample.size() < 400) redis_sample += " " + event.first + " v" + std::to_string(event.second) + " x" + std::to_string(times);
    }
  }
  for (const auto& event : expected) {
    if (logged.count(event) == 0) {
      ++redis_lost;
      if (redis_sample.size() < 400) redis_sample += " " + event.first + " v" + std::to_string(event.second) + " x0";
    }
  }

  figures_.losses = std::max(models.users.missing, models.users.extra) + models.log.missing + hooks_lost + redis_lost;
  figures_.duplicates = models.log.extra + hooks_over + redis_extra;
  report(figures_);
  reported_ = true;

  INFO("users (user_projection against the SQL replay):\n" << models.users.sample);
  INFO("user_log (user_event_log against the SQL replay):\n" << models.log.sample);
  INFO("hooks (receipts by idempotency key, never or more than " << kWebhookMaxAttempts << " times):" << hooks_sample);
  INFO("redis_log (redis_event_log against the entries XADDed):" << redis_sample);
  CHECK(models.users.none());
  CHECK(models.log.none());
  CHECK(hooks_lost + hooks_over == 0);
  CHECK(redis_lost + redis_extra == 0);
  REQUIRE(figures_.duplicates == 0);
  REQUIRE(figures_.losses == 0);
}

}  // namespace projectord::testing::faults
