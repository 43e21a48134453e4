#pragma once
/// The storm's setting, shared by the kill -9 storm and the soak: a fresh database with the demo store, eight
/// out-of-order writers (tests/faults/out_of_order_writers.hpp) that also XADD to a stream of the shared test
/// Redis, and a daemon config with four handlers: `users` and `user_log` (the demo's projections), `hooks` (a
/// webhook to a WebhookReceiver of the test) and `redis_log` (an event_log fed by the stream, in a consumer
/// group). The source reads the store as `commit_order = "concurrent"`, since the writers take no table lock.
///
/// Contract: the constructor prints the seed every random choice derives from (PROJECTORD_FAULT_SEED sets it
/// to repeat a run) and migrates; it starts nothing. finish_and_check() stops the writers, runs a daemon (the
/// running one, or a new one) until every handler has everything and no rebuild is left, stops it with
/// SIGTERM, compares each handler's result with what was written, reports the figures and then asserts no
/// duplicates and no losses, naming the handler and the rows that differ. A storm is used from the test's
/// thread only.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/faults/out_of_order_writers.hpp"
#include "tests/faults/scenario_report.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace projectord::testing::faults {

class Storm {
 public:
  explicit Storm(std::string scenario);
  ~Storm();
  Storm(const Storm&) = delete;
  Storm& operator=(const Storm&) = delete;

  /// Preloads `backlog` events, then starts the writers, each pausing `mean_pause` on average between its
  /// transactions.
  void start_writers(std::int64_t backlog, std::chrono::milliseconds mean_pause);

  /// Starts a daemon and SIGKILLs it at a random moment: a few milliseconds to two seconds after its start,
  /// sometimes after asking it for a rebuild of `users`, sometimes just as that rebuild's swap begins.
  void kill_at_random_moment();
  /// Starts a daemon, asks it for a rebuild of `users` while a reader holds the live table, and SIGKILLs it
  /// while the rebuild's swap waits for that reader: a kill certainly inside the swap's transaction.
  void kill_while_swap_waits_for_reader();

  /// The long-running daemon, started on first use.
  DaemonProcess& daemon();
  /// POST /admin/rebuild/users to daemon() (a rebuild already running is left as it is).
  void request_rebuild();
  /// Rewrites the config with the webhook's request_timeout changed, which restarts that handler alone, and
  /// sends daemon() SIGHUP.
  void reload();

  ScenarioFigures& figures() { return figures_; }
  std::mt19937_64& random() { return random_; }

  /// See the contract above.
  void finish_and_check();

 private:
  std::vector<std::string> command(const std::string& action) const;
  bool caught_up(std::int64_t head, std::size_t streamed) const;

  ScenarioFigures figures_;
  bool reported_ = false;
  int kills_in_rebuild_ = 0;
  int kills_at_swap_ = 0;
  int kills_in_swap_ = 0;
  int reloads_ = 0;
  std::uint64_t seed_;
  std::mt19937_64 random_;
  TestDatabase db_;
  std::string stream_;
  WebhookReceiver receiver_;
  std::string config_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<OutOfOrderWriters> writers_;
  std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace projectord::testing::faults
