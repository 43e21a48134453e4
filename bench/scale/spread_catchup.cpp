#include "bench/scale/spread_catchup.hpp"

#include <chrono>
#include <pqxx/nontransaction>
#include <stdexcept>

#include "bench/scale/daemon_group.hpp"
#include "bench/support/read_models.hpp"

namespace projectord::bench {

namespace {

constexpr int kCopies = 6;
constexpr int kHandlers = 2 * kCopies;
constexpr auto kSpreadTimeout = std::chrono::minutes(1);
constexpr auto kCatchUpTimeout = std::chrono::minutes(30);
constexpr const char* kUsersReference = "user_projection_reference";
constexpr const char* kLogReference = "user_event_log_reference";

using Clock = std::chrono::steady_clock;

std::string users_table(int copy) { return "user_projection_" + std::to_string(copy); }
std::string log_table(int copy) { return "user_event_log_" + std::to_string(copy); }

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void start_from_scratch(const Projectord& projectord, pqxx::connection& connection) {
  {
    pqxx::nontransaction txn(connection);
    txn.exec("DROP SCHEMA IF EXISTS projectord CASCADE");
    txn.exec(std::string("DROP TABLE IF EXISTS ") + kUsersReference + ", " + kLogReference);
    for (int copy = 0; copy < kCopies; ++copy) {
      txn.exec("DROP TABLE IF EXISTS " + users_table(copy) + ", " + log_table(copy));
    }
    txn.exec("TRUNCATE stored_events RESTART IDENTITY");
  }
  projectord.migrate();
  settle(connection);
}

// One check for the twelve models: each equals the set-based reference over the store.
void check_models(Checks& checks, pqxx::connection& connection, const std::string& phase) {
  create_like(connection, kUsersReference, users_table(0));
  create_like(connection, kLogReference, log_table(0));
  run_set_based(connection, kUsersReference, kLogReference,
                query_int(connection, "SELECT coalesce(max(id), 0) FROM stored_events"));
  int same = 0;
  std::string first_mismatch;
  const auto compare = [&](const std::string& table, const std::string& reference, const char* columns) {
    const std::int64_t differing = differing_rows(connection, table, reference, columns);
    if (differing == 0) {
      ++same;
    } else if (first_mismatch.empty()) {
      first_mismatch = "; " + table + ": " + std::to_string(differing) + " rows differ";
    }
  };
  for (int copy = 0; copy < kCopies; ++copy) {
    compare(users_table(copy), kUsersReference, kUserColumns);
    compare(log_table(copy), kLogReference, kLogColumns);
  }
  checks.expect(same == kHandlers, phase + ": every read model = set-based",
                std::to_string(same) + " of " + std::to_string(kHandlers) + first_mismatch);
}

}  // namespace

std::vector<HandlerConfig> twelve_handlers() {
  std::vector<HandlerConfig> handlers;
  for (int copy = 0; copy < kCopies; ++copy) {
    const std::string n = std::to_string(copy);
    handlers.push_back({"users_" + n, "kind = \"users\"\ntable = \"" + users_table(copy) + "\"\n"});
    handlers.push_back({"user_log_" + n, "kind = \"event_log\"\ntable = \"" + log_table(copy) + "\"\n"});
  }
  return handlers;
}

std::string processes_text(int processes) {
  return std::to_string(processes) + (processes == 1 ? " process" : " processes");
}

double SpreadCatchUp::handler_events_per_second() const {
  return seconds > 0 ? static_cast<double>(events) * kHandlers / seconds : 0;
}

SpreadCatchUp catch_up_with(const Projectord& projectord, pqxx::connection& connection, int processes,
                            std::int64_t events, const std::string& phase, const std::string& work_dir,
                            Checks& checks) {
  start_from_scratch(projectord, connection);
  SpreadCatchUp result;
  result.processes = processes;
  result.events = events;
  const std::int64_t share = (kHandlers + processes - 1) / processes;

  DaemonGroup group(projectord, work_dir);
  const auto started = Clock::now();
  for (int i = 0; i < processes; ++i) group.start();
  if (!group.wait_until([&] { return each_holds(connection, group, share); }, kSpreadTimeout, "spreading")) {
    throw std::runtime_error(phase + ": " + processes_text(processes) + " did not spread the handlers evenly in 1 min");
  }
  result.spread_seconds = seconds_since(started);

  examples::UserEventGenerator generator(kSeed);
  append_events(connection, generator, events);
  const auto committed = Clock::now();
  result.reached_head =
      group.wait_until([&] { return projectord.caught_up(connection); }, kCatchUpTimeout, "catching up");
  result.seconds = seconds_since(committed);

  const auto leases = leases_by_pid(connection);
  for (const pid_t pid : group.pids()) result.leases.push_back(leases.contains(pid) ? leases.at(pid) : 0);
  const std::string with = phase + ": ";
  checks.expect(result.reached_head, with + "every handler reached the head within 30 min");
  check_models(checks, connection, phase);
  checks.expect(query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                with + "projectord dead-lettered nothing");
  result.cpu_seconds = group.stop_all(checks, phase);
  return result;
}

}  // namespace projectord::bench
