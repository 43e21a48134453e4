#include "bench/scale/partitioned_webhook.hpp"

#include <algorithm>
#include <map>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <stdexcept>

#include "bench/scale/daemon_group.hpp"
#include "bench/scale/spread_catchup.hpp"
#include "bench/support/store.hpp"
#include "sources/postgres/partition_match.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace projectord::bench {

namespace {

constexpr const char* kHandler = "hook";
// eventsourcing_django's stream id column in stored_events: what the partitions hash.
constexpr const char* kStreamId = "originator_id";
constexpr auto kPartitionSpreadTimeout = std::chrono::minutes(1);
constexpr auto kDeliveryTimeout = std::chrono::minutes(30);

using Clock = std::chrono::steady_clock;

void start_webhook_from_scratch(const Projectord& projectord, pqxx::connection& connection) {
  {
    pqxx::nontransaction txn(connection);
    txn.exec("DROP SCHEMA IF EXISTS projectord CASCADE");
    txn.exec("TRUNCATE stored_events RESTART IDENTITY");
  }
  projectord.migrate();
  settle(connection);
}

// Every partition's checkpoint (hook/0 .. hook/K-1; the handler's own, hook, when K = 1) at the newest stored event.
bool partitions_at_head(pqxx::connection& connection, int partitions) {
  pqxx::read_transaction txn(connection);
  return txn
      .exec_params1(
          "SELECT count(*) = $1 AND min(position) >= (SELECT coalesce(max(id), 0) FROM stored_events)"
          " FROM projectord.checkpoints WHERE handler = $2 OR handler LIKE $3",
          partitions, std::string(kHandler), std::string(kHandler) + "/%")[0]
      .as<bool>();
}

// Events of the partition with the most, by the condition the partitions' readers use.
std::int64_t largest_partition(pqxx::connection& connection, int partitions) {
  std::int64_t largest = 0;
  for (int index = 0; index < partitions; ++index) {
    const config::Partition partition{kHandler, index, partitions};
    largest = std::max(largest, query_int(connection, "SELECT count(*) FROM stored_events WHERE " +
                                                          sources::partition_match(kStreamId, partition)));
  }
  return largest;
}

// Counts the receiver's requests by idempotency key (`shop:POSITION`) against the store's positions.
void count_deliveries(const testing::WebhookReceiver& receiver, pqxx::connection& connection,
                      PartitionedDelivery& result) {
  std::map<std::string, std::int64_t> by_key;
  for (const testing::ReceivedRequest& request : receiver.requests()) {
    const auto key = request.headers.find("idempotency-key");
    ++by_key[key == request.headers.end() ? std::string() : key->second];
  }
  pqxx::nontransaction txn(connection);
  for (const pqxx::row& row : txn.exec("SELECT id FROM stored_events")) {
    const auto found = by_key.find(std::string(kSourceName) + ":" + row[0].c_str());
    if (found == by_key.end()) {
      ++result.undelivered;
    } else {
      result.duplicates += found->second - 1;
    }
  }
}

}  // namespace

double PartitionedDelivery::events_per_second() const {
  return seconds > 0 ? static_cast<double>(events) / seconds : 0;
}

std::string delivery_text(int partitions, std::int64_t max_in_flight, int processes) {
  return "K = " + std::to_string(partitions) + ", " + std::to_string(max_in_flight) + " in flight, " +
         processes_text(processes);
}

PartitionedDelivery deliver_partitioned(const WebhookBench& bench, pqxx::connection& connection, int partitions,
                                        int processes, std::int64_t max_in_flight, std::int64_t events,
                                        Checks& checks) {
  if (partitions % processes != 0) {
    throw std::logic_error("bench: " + std::to_string(partitions) + " partitions do not spread evenly over " +
                           processes_text(processes));
  }
  const std::string phase = delivery_text(partitions, max_in_flight, processes);
  testing::WebhookReceiver receiver([](std::size_t, const testing::ReceivedRequest&) {
    return testing::ScriptedResponse{200, {}};
  });
  receiver.answer_after(bench.latency);
  ProjectordOptions options;
  options.handlers = {{kHandler, "kind = \"webhook\"\nurl = \"http://127.0.0.1:" + std::to_string(receiver.port()) +
                                     "/events\"\nmax_in_flight = " + std::to_string(max_in_flight) +
                                     "\npartitions = " + std::to_string(partitions) + "\n"}};
  const std::string work_dir = bench.work_dir + "/webhook-k" + std::to_string(partitions) + "-m" +
                               std::to_string(max_in_flight) + "-p" + std::to_string(processes);
  const Projectord projectord(bench.binary, bench.database_url, work_dir, options);
  start_webhook_from_scratch(projectord, connection);

  PartitionedDelivery result;
  result.partitions = partitions;
  result.processes = processes;
  result.max_in_flight = max_in_flight;
  result.events = events;
  DaemonGroup group(projectord, work_dir);
  for (int i = 0; i < processes; ++i) group.start();
  if (!group.wait_until([&] { return each_holds(connection, group, partitions / processes); }, kPartitionSpreadTimeout,
                        "spreading")) {
    throw std::runtime_error(phase + ": the partitions did not spread evenly in 1 min");
  }

  examples::UserEventGenerator generator(kSeed);
  append_events(connection, generator, events);
  const auto committed = Clock::now();
  result.reached_head =
      group.wait_until([&] { return partitions_at_head(connection, partitions); }, kDeliveryTimeout, "delivering");
  result.seconds = std::chrono::duration<double>(Clock::now() - committed).count();
  result.most_at_once = receiver.most_at_once();

  const std::string with = phase + ": ";
  checks.expect(result.reached_head, with + "every partition reached the head within 30 min");
  count_deliveries(receiver, connection, result);
  result.largest_partition = largest_partition(connection, partitions);
  checks.expect(result.undelivered == 0, with + "every event delivered at least once",
                std::to_string(result.undelivered) + " never arrived");
  checks.expect(query_int(connection, "SELECT count(*) FROM projectord.dead_letters") == 0,
                with + "projectord dead-lettered nothing");
  group.stop_all(checks, phase);
  return result;
}

}  // namespace projectord::bench
