#pragma once
/// bench-scale's failover: two daemons share the demo's two handlers (or more: failover_handlers) while a
/// writer appends events at a steady rate; again and again the process holding one handler's lease is killed
/// with SIGKILL, and the time from the kill to the other process's first checkpoint commit for that handler is
/// taken. The killed one is restarted, and the next kill waits until the two hold half the handlers each and
/// stand by for each other's.
///
/// Contract: times are observed by polling every 20 ms (each is late by at most a poll and its queries).
/// "First commit by the new owner": the handler's lease names the surviving process and the checkpoint row's
/// `updated_at` (the committing transaction's start) is not before the lease's `acquired_at`. A kill the other
/// process does not take over within 30 s ends the series (`completed` says how far it got).
#include <cstdint>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "bench/support/report.hpp"
#include "bench/support/store.hpp"
#include "examples/user_events.hpp"

namespace projectord::bench {

struct FailoverSeries {
  std::string handler;                  ///< whose owner was killed
  std::int64_t kills = 0;               ///< asked for
  std::int64_t completed = 0;           ///< taken over within the time allowed
  std::vector<double> lease_taken_ms;   ///< kill to the lease held by the other process
  std::vector<double> first_commit_ms;  ///< kill to that process's first checkpoint commit for the handler
  std::size_t written = 0;              ///< events the writer appended meanwhile
};

/// The demo's two handlers and, for a `count` above two, event logs of their own tables beside them (user_log_3 ..
/// user_log_COUNT into user_event_log_3 ..), so that each process holds more handlers than its connections
/// make pairs for.
std::vector<HandlerConfig> failover_handlers(std::int64_t count);

/// Runs the series on `projectord`'s config (`handlers`, from failover_handlers, migrated, over the store at
/// `url`), the writer appending `rate` events per second from `generator` on a connection of its own; logs go
/// to `work_dir`. Then, the writer stopped, waits for every handler to reach the head and checks the read
/// models against the set-based reference: no event lost or applied twice across the kills.
FailoverSeries run_failover(const Projectord& projectord, const std::vector<HandlerConfig>& handlers,
                            const std::string& url, examples::UserEventGenerator& generator, std::int64_t rate,
                            std::int64_t kills, const std::string& handler, const std::string& work_dir,
                            Checks& checks);

}  // namespace projectord::bench
