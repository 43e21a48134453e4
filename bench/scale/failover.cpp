#include "bench/scale/failover.hpp"

#include <chrono>
#include <exception>
#include <optional>
#include <pqxx/nontransaction>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "bench/scale/daemon_group.hpp"
#include "bench/support/latency.hpp"
#include "bench/support/read_models.hpp"

namespace projectord::bench {

namespace {

constexpr auto kTakeOverTimeout = std::chrono::seconds(30);
constexpr auto kPairTimeout = std::chrono::seconds(60);
constexpr auto kFailoverCatchUpTimeout = std::chrono::minutes(5);
// The writer has no end of its own: the series stops it.
constexpr std::int64_t kWriterSeconds = 24 * 3600;

// The table of failover_handlers' event log number `index` (3 and up): the demo's own is user_event_log.
std::string extra_log_table(std::size_t index) { return "user_event_log_" + std::to_string(index); }

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The two daemons hold half the `handlers` each (one more for one of them when the count is odd) and stand by,
// seen within the last 5 s, for each of the other's: a kill of either is then a failover, not a start.
bool paired(pqxx::connection& connection, const std::vector<pid_t>& pids, std::int64_t handlers) {
  if (pids.size() != 2) return false;
  const auto leases = leases_by_pid(connection);
  const auto held = [&](pid_t pid) { return leases.contains(pid) ? leases.at(pid) : 0; };
  const std::int64_t first = held(pids[0]);
  const std::int64_t second = held(pids[1]);
  if (first + second != handlers || first < handlers / 2 || second < handlers / 2) return false;
  const std::string live = std::to_string(pids[0]) + ", " + std::to_string(pids[1]);
  return query_int(connection,
                   "SELECT count(*) FROM projectord.lease_standbys s JOIN projectord.leases l USING (name)"
                   " WHERE s.pid <> l.pid AND s.pid IN (" +
                       live + ") AND l.pid IN (" + live +
                       ") AND l.expires_at > now() AND s.seen_at > now() - interval '5 seconds'") == handlers;
}

struct Takeover {
  std::optional<double> lease_taken_ms;
  std::optional<double> first_commit_ms;
};

// Kills the owner of `handler`'s lease and polls until the survivor has committed the handler's checkpoint.
Takeover kill_owner(DaemonGroup& group, pqxx::connection& connection, const std::string& handler) {
  const std::vector<pid_t> pids = group.pids();
  const std::string lease = "SELECT pid FROM projectord.leases WHERE name = " + connection.quote(handler);
  const auto owner = static_cast<pid_t>(query_int(connection, lease));
  const pid_t survivor = owner == pids[0] ? pids[1] : pids[0];
  const std::string progress = "SELECT l.pid = " + std::to_string(survivor) +
                               " AND l.expires_at > now(), c.updated_at >= l.acquired_at"
                               " FROM projectord.leases l JOIN projectord.checkpoints c ON c.handler = l.name"
                               " WHERE l.name = " +
                               connection.quote(handler);

  const auto killed = Clock::now();
  group.kill(owner);
  Takeover takeover;
  group.wait_until(
      [&] {
        pqxx::nontransaction txn(connection);
        const pqxx::row row = txn.exec1(progress);
        const bool taken = row[0].as<bool>();
        if (taken && !takeover.lease_taken_ms) takeover.lease_taken_ms = milliseconds_since(killed);
        if (taken && row[1].as<bool>()) takeover.first_commit_ms = milliseconds_since(killed);
        return takeover.first_commit_ms.has_value();
      },
      kTakeOverTimeout, "taking a handler over");
  return takeover;
}

}  // namespace

std::vector<HandlerConfig> failover_handlers(std::int64_t count) {
  std::vector<HandlerConfig> handlers = demo_handlers();
  for (std::int64_t index = 3; index <= count; ++index) {
    const auto n = static_cast<std::size_t>(index);
    handlers.push_back(
        {"user_log_" + std::to_string(n), "kind = \"event_log\"\ntable = \"" + extra_log_table(n) + "\"\n"});
  }
  return handlers;
}

FailoverSeries run_failover(const Projectord& projectord, const std::vector<HandlerConfig>& handlers,
                            const std::string& url, examples::UserEventGenerator& generator, std::int64_t rate,
                            std::int64_t kills, const std::string& handler, const std::string& work_dir,
                            Checks& checks) {
  FailoverSeries series;
  series.handler = handler;
  series.kills = kills;
  pqxx::connection connection(url);
  DaemonGroup group(projectord, work_dir);

  pqxx::connection writer_connection(url);
  std::exception_ptr writer_error;
  std::jthread writer([&](std::stop_token stop) {
    try {
      series.written = write_at_rate(writer_connection, generator, rate, kWriterSeconds, stop).commits.size();
    } catch (...) {
      writer_error = std::current_exception();
    }
  });

  group.start();
  group.start();
  for (std::int64_t kill = 0; kill < kills; ++kill) {
    if (!group.wait_until([&] { return paired(connection, group.pids(), static_cast<std::int64_t>(handlers.size())); },
                          kPairTimeout, "pairing up")) {
      throw std::runtime_error(
          "the two daemons did not take half the handlers each and stand by for the other's in 60 s");
    }
    const Takeover takeover = kill_owner(group, connection, handler);
    if (!takeover.first_commit_ms) break;
    series.lease_taken_ms.push_back(*takeover.lease_taken_ms);
    series.first_commit_ms.push_back(*takeover.first_commit_ms);
    ++series.completed;
    group.start();
  }
  writer.request_stop();
  writer.join();
  if (writer_error) std::rethrow_exception(writer_error);

  checks.expect(series.completed == kills, "failover: the other daemon took over after every kill within 30 s",
                std::to_string(series.completed) + " of " + std::to_string(kills));
  const bool caught_up =
      group.wait_until([&] { return projectord.caught_up(connection); }, kFailoverCatchUpTimeout, "catching up");
  checks.expect(caught_up, "failover: every handler reached the head once the writer stopped");
  const std::int64_t last_id = query_int(connection, "SELECT coalesce(max(id), 0) FROM stored_events");
  create_like(connection, "user_projection_reference", "user_projection");
  create_like(connection, "user_event_log_reference", "user_event_log");
  run_set_based(connection, "user_projection_reference", "user_event_log_reference", last_id);
  check_same(checks, connection, "failover: users = set-based", "user_projection", "user_projection_reference",
             kUserColumns);
  check_same(checks, connection, "failover: event log = set-based (each event once)", "user_event_log",
             "user_event_log_reference", kLogColumns);
  for (std::size_t index = 3; index <= handlers.size(); ++index) {
    check_same(checks, connection, "failover: " + handlers[index - 1].name + " = user_log", extra_log_table(index),
               "user_event_log", kLogColumns);
  }
  checks.expect(query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                "failover: projectord dead-lettered nothing");
  group.stop_all(checks, "failover");
  return series;
}

}  // namespace projectord::bench
