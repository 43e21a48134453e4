#pragma once
/// bench-scale's partitioned webhook: one webhook handler with `partitions = K` and a fixed `max_in_flight`
/// delivers the demo store's events to a receiver on 127.0.0.1 that answers every request a fixed latency after
/// it arrived, each on a timer of its own (requests on several connections overlap). P `projectord run`
/// processes of one config share the K partitions.
///
/// Contract: each delivery starts from scratch: the projectord schema is dropped, the store emptied (the ids
/// restart at 1) and the config migrated; the P processes start on the empty store and spread the partitions
/// (K / P leases each); then the N events of UserEventGenerator(kSeed) are committed in one COPY and the
/// delivery is timed from that COMMIT to every partition's checkpoint at the head, polled every 20 ms. The
/// receiver's requests are then counted by idempotency key against the store's positions: every event must
/// have been delivered at least once; the deliveries beyond one per event are counted as duplicates. The
/// delivery ends with its largest partition, so events / largest_partition is what K partitions can gain over
/// one when every request costs the same: the hash spreads a few hundred streams unevenly.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <pqxx/connection>
#include <string>

#include "bench/support/report.hpp"

namespace projectord::bench {

/// What every delivery of a series shares.
struct WebhookBench {
  std::string binary;                 ///< the projectord binary
  std::string database_url;           ///< the database `connection` is on, which holds stored_events
  std::chrono::milliseconds latency;  ///< the receiver's, per request
  std::string work_dir;               ///< configs and logs, a directory per delivery
};

struct PartitionedDelivery {
  int partitions = 0;
  int processes = 0;
  std::int64_t max_in_flight = 0;
  std::int64_t events = 0;  ///< committed for the delivery
  double seconds = 0;       ///< the events' COMMIT to every partition's checkpoint at the head
  bool reached_head = false;
  std::int64_t undelivered = 0;        ///< events of the store the receiver never saw
  std::int64_t duplicates = 0;         ///< requests beyond the first for an event
  std::size_t most_at_once = 0;        ///< requests the receiver had in progress at once, at most
  std::int64_t largest_partition = 0;  ///< events of the partition with the most

  /// Events delivered per second.
  double events_per_second() const;
};

/// One delivery of `events` events by a webhook handler of `partitions` partitions and `max_in_flight`, run by
/// `processes` daemons (`partitions` a multiple of `processes`); its checks are named after its settings.
PartitionedDelivery deliver_partitioned(const WebhookBench& bench, pqxx::connection& connection, int partitions,
                                        int processes, std::int64_t max_in_flight, std::int64_t events, Checks& checks);

/// "K = 4, 1 in flight, 2 processes": a delivery's settings, as its checks and lines name it.
std::string delivery_text(int partitions, std::int64_t max_in_flight, int processes);

}  // namespace projectord::bench
