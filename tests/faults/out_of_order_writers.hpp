#pragma once
/// Writers of the demo store (eventsourcing_django's `stored_events`, application "Shop", plain JSON state as
/// examples/user_events.hpp encodes it) that commit out of position order, the way applications that take no
/// table lock do: each thread has its own connection, reserves its transaction's ids with nextval() and inserts
/// them highest first or lowest first, sometimes reserves ids it never uses, rolls some transactions back (and
/// writes the same events again in a later one, as an application retrying would) and holds some open for up
/// to `longest_hold`. Optionally each committed event is also XADDed to a Redis stream of the shared test Redis
/// (fields type, stream_id, version, data).
///
/// Contract: the events are the UserEventGenerator sequence of `seed`, dealt out so that all events of a user go
/// through one writer: a user's versions are committed in position order, as an aggregate's optimistic
/// concurrency makes them. The ids of committed transactions are recorded exactly (rolled-back and unused ids
/// are not); so are the events streamed. stop() ends held transactions early (committing them), joins the
/// threads and is idempotent; errors of a writer stop that writer and are reported by errors(), never thrown
/// from its thread. The store table must exist (bench's create_stored_events) before preload() or start().
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace projectord::testing::faults {

struct WriterLoad {
  int writers = 8;
  std::uint64_t seed = 1;
  std::chrono::milliseconds mean_pause{40};  ///< a writer's mean pause between transactions: sets the rate
  std::chrono::milliseconds longest_hold{15000};
  int hold_per_mille = 3;  ///< transactions held open for a random time up to longest_hold
  int rollback_percent = 10;
  int unused_reservation_percent = 15;
  std::string redis_stream;  ///< empty: nothing goes to Redis
};

/// An event XADDed to the stream, as the stream-fed event_log records it.
struct StreamedEvent {
  std::string stream_id;
  std::int64_t version = 0;
};

class OutOfOrderWriters {
 public:
  OutOfOrderWriters(std::string url, WriterLoad load);
  ~OutOfOrderWriters();
  OutOfOrderWriters(const OutOfOrderWriters&) = delete;
  OutOfOrderWriters& operator=(const OutOfOrderWriters&) = delete;

  /// Appends the sequence's next `count` events with one COPY in one transaction (a backlog to catch up on);
  /// only before start(). They are not streamed.
  void preload(std::int64_t count);
  void start();
  void stop();

  /// Ids of committed events, ascending.
  std::vector<std::int64_t> committed_ids() const;
  std::int64_t committed() const;
  std::vector<StreamedEvent> streamed() const;
  /// Transactions rolled back and transactions held open, so far.
  std::int64_t rollbacks() const;
  std::int64_t holds() const;
  /// What stopped writers, one line each; empty when none failed.
  std::string errors() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace projectord::testing::faults
