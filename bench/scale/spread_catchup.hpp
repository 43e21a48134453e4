#pragma once
/// bench-scale's throughput: twelve handlers (six copies of the demo's `users` and `user_log`, each copy with
/// tables of its own) catch up a store of N events from empty read models with P `projectord run` processes
/// of one config, which spread the handlers evenly among themselves.
///
/// Contract: each catch-up starts from scratch: the projectord schema, the twelve tables and the store's rows
/// are dropped (the ids restart at 1) and the config migrated again; the P processes start on the empty store
/// and spread the handlers; then the N events of UserEventGenerator(kSeed) are committed in one COPY and the
/// catch-up is timed from that COMMIT to every handler's checkpoint at the head, polled every 20 ms. Every
/// read model is then compared with the set-based reference over the store (no event lost or applied twice),
/// and the processes are stopped.
#include <cstdint>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "bench/support/report.hpp"
#include "bench/support/store.hpp"

namespace projectord::bench {

/// users_0 .. users_5 (kind users, table user_projection_N) and user_log_0 .. user_log_5 (kind event_log,
/// table user_event_log_N).
std::vector<HandlerConfig> twelve_handlers();

/// "1 process", "2 processes".
std::string processes_text(int processes);

struct SpreadCatchUp {
  int processes = 0;
  std::int64_t events = 0;           ///< committed for the catch-up
  double spread_seconds = 0;         ///< the first start to every process holding its share of the handlers
  double seconds = 0;                ///< the events' COMMIT to every checkpoint at the head
  std::vector<std::int64_t> leases;  ///< held by each process once caught up, in start order
  double cpu_seconds = 0;            ///< the processes' CPU time, start-up, spread and shutdown included
  bool reached_head = false;

  /// Events applied per second, summed over the handlers.
  double handler_events_per_second() const;
};

/// One catch-up of `events` events by `processes` daemons of `projectord`'s config (twelve_handlers()) in the
/// database `connection` is on, which holds stored_events; its checks are named after `phase`, logs go to
/// `work_dir`.
SpreadCatchUp catch_up_with(const Projectord& projectord, pqxx::connection& connection, int processes,
                            std::int64_t events, const std::string& phase, const std::string& work_dir, Checks& checks);

}  // namespace projectord::bench
