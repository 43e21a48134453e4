#include "tests/faults/out_of_order_writers.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "bench/support/store.hpp"
#include "examples/user_events.hpp"
#include "tests/support/redis_test_stream.hpp"

namespace projectord::testing::faults {

namespace {

using examples::StoredEvent;

constexpr const char* kInsert =
    "INSERT INTO stored_events (id, application_name, originator_id, originator_version, topic, state) "
    "VALUES ($1, $2, $3, $4, $5, $6)";

// FNV-1a of the user's id: which writer a user's events go through.
std::size_t owner_of(const StoredEvent& event, std::size_t writers) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : event.originator_id) hash = (hash ^ c) * 16777619u;
  return hash % writers;
}

}  // namespace

struct OutOfOrderWriters::State {
  State(std::string url_, WriterLoad load_)
      : url(std::move(url_)), load(std::move(load_)), generator(load.seed), hands(load.writers) {}

  const std::string url;
  const WriterLoad load;

  // The generator's events, dealt to the writer owning their user.
  std::mutex deal_mutex;
  examples::UserEventGenerator generator;
  std::vector<std::deque<StoredEvent>> hands;

  StoredEvent next_for(std::size_t writer) {
    std::lock_guard lock(deal_mutex);
    while (hands[writer].empty()) {
      StoredEvent event = generator.next();
      hands[owner_of(event, hands.size())].push_back(std::move(event));
    }
    StoredEvent event = std::move(hands[writer].front());
    hands[writer].pop_front();
    return event;
  }

  // Holds and pauses end early when stopping.
  std::mutex stop_mutex;
  std::condition_variable stop_signal;
  bool stopping = false;

  void wait(std::chrono::milliseconds duration) {
    std::unique_lock lock(stop_mutex);
    stop_signal.wait_for(lock, duration, [&] { return stopping; });
  }
  bool stop_asked() {
    std::lock_guard lock(stop_mutex);
    return stopping;
  }

  mutable std::mutex record_mutex;
  std::vector<std::int64_t> ids;
  std::vector<StreamedEvent> streamed;
  std::string errors;
  std::atomic<std::int64_t> rollbacks{0};
  std::atomic<std::int64_t> holds{0};

  std::vector<std::thread> threads;

  void write(std::size_t writer, Admin* redis);
};

void OutOfOrderWriters::State::write(std::size_t writer, Admin* redis) {
  std::mt19937_64 random(load.seed * 1000 + writer);
  const auto percent = [&](int p) { return std::uniform_int_distribution<int>(0, 99)(random) < p; };
  const auto up_to = [&](std::int64_t most) { return std::uniform_int_distribution<std::int64_t>(0, most)(random); };

  pqxx::connection connection(url);
  connection.prepare("insert", kInsert);
  const std::string sequence = pqxx::nontransaction(connection)
                                   .exec1("SELECT pg_get_serial_sequence('stored_events', 'id')")[0]
                                   .as<std::string>();
  const std::string application(bench::kApplication);
  std::deque<StoredEvent> retried;  // a rolled-back transaction's events, written again next
  while (!stop_asked()) {
    std::vector<StoredEvent> events;
    const auto count = static_cast<std::size_t>(1 + up_to(4));
    while (events.size() < count && !retried.empty()) {
      events.push_back(std::move(retried.front()));
      retried.pop_front();
    }
    while (events.size() < count) events.push_back(next_for(writer));

    pqxx::work txn(connection);
    std::vector<std::int64_t> reserved;
    for (const auto& row : txn.exec_params("SELECT nextval($1) FROM generate_series(1, $2)", sequence,
                                           static_cast<int>(events.size()))) {
      reserved.push_back(row[0].as<std::int64_t>());
    }
    std::sort(reserved.begin(), reserved.end());
    if (percent(load.unused_reservation_percent)) {
      txn.exec_params("SELECT nextval($1) FROM generate_series(1, $2)", sequence, static_cast<int>(1 + up_to(2)));
    }
    // Ids follow the events' order; the statements run highest id first half of the time.
    std::vector<std::size_t> order(events.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (percent(50)) std::reverse(order.begin(), order.end());
    for (const std::size_t i : order) {
      const StoredEvent& event = events[i];
      txn.exec_prepared("insert", reserved[i], application, event.originator_id, event.originator_version,
                        event.topic, pqxx::binarystring(event.state));
    }
    if (std::uniform_int_distribution<int>(0, 999)(random) < load.hold_per_mille) {
      ++holds;
      wait(std::chrono::milliseconds(up_to(load.longest_hold.count())));
    }
    if (percent(load.rollback_percent)) {
      txn.abort();
      ++rollbacks;
      for (auto it = events.rbegin(); it != events.rend(); ++it) retried.push_front(std::move(*it));
      continue;
    }
    txn.commit();
    {
      std::lock_guard lock(record_mutex);
      ids.insert(ids.end(), reserved.begin(), reserved.end());
    }
    if (redis != nullptr) {
      for (const StoredEvent& event : events) {
        const auto added = redis->send({"XADD", load.redis_stream, "*", "type", event.topic, "stream_id",
                                        event.originator_id, "version", std::to_string(event.originator_version),
                                        "data", event.state});
        if (!added || added->is_error()) {
          throw std::runtime_error("XADD: " + (added ? added->text : added.error()));
        }
        std::lock_guard lock(record_mutex);
        streamed.push_back({event.originator_id, event.originator_version});
      }
    }
    wait(std::chrono::milliseconds(up_to(2 * load.mean_pause.count())));
  }
}

OutOfOrderWriters::OutOfOrderWriters(std::string url, WriterLoad load)
    : state_(std::make_unique<State>(std::move(url), std::move(load))) {}

OutOfOrderWriters::~OutOfOrderWriters() { stop(); }

void OutOfOrderWriters::preload(std::int64_t count) {
  pqxx::connection connection(state_->url);
  const std::int64_t before = bench::query_int(connection, "SELECT coalesce(max(id), 0) FROM stored_events");
  bench::append_events(connection, state_->generator, count);
  pqxx::nontransaction txn(connection);
  std::lock_guard lock(state_->record_mutex);
  for (const auto& row : txn.exec_params("SELECT id FROM stored_events WHERE id > $1", before)) {
    state_->ids.push_back(row[0].as<std::int64_t>());
  }
}

void OutOfOrderWriters::start() {
  for (int writer = 0; writer < state_->load.writers; ++writer) {
    // Connected here, on the test's thread, which reports a Redis that cannot be reached.
    std::unique_ptr<Admin> redis = state_->load.redis_stream.empty() ? nullptr : std::make_unique<Admin>();
    state_->threads.emplace_back([state = state_.get(), writer, redis = std::move(redis)] {
      try {
        state->write(static_cast<std::size_t>(writer), redis.get());
      } catch (const std::exception& error) {
        std::lock_guard lock(state->record_mutex);
        state->errors += "writer " + std::to_string(writer) + ": " + error.what() + "\n";
      }
    });
  }
}

void OutOfOrderWriters::stop() {
  {
    std::lock_guard lock(state_->stop_mutex);
    state_->stopping = true;
  }
  state_->stop_signal.notify_all();
  for (auto& thread : state_->threads) {
    if (thread.joinable()) thread.join();
  }
}

std::vector<std::int64_t> OutOfOrderWriters::committed_ids() const {
  std::lock_guard lock(state_->record_mutex);
  std::vector<std::int64_t> ids = state_->ids;
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::int64_t OutOfOrderWriters::committed() const {
  std::lock_guard lock(state_->record_mutex);
  return static_cast<std::int64_t>(state_->ids.size());
}

std::vector<StreamedEvent> OutOfOrderWriters::streamed() const {
  std::lock_guard lock(state_->record_mutex);
  return state_->streamed;
}

std::int64_t OutOfOrderWriters::rollbacks() const { return state_->rollbacks; }
std::int64_t OutOfOrderWriters::holds() const { return state_->holds; }

std::string OutOfOrderWriters::errors() const {
  std::lock_guard lock(state_->record_mutex);
  return state_->errors;
}

}  // namespace projectord::testing::faults
