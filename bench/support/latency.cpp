#include "bench/support/latency.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <pqxx/binarystring>
#include <pqxx/nontransaction>
#include <pqxx/notification>
#include <pqxx/transaction>

#include "bench/support/report.hpp"
#include "bench/support/store.hpp"

namespace projectord::bench {

LatencySummary summarize(std::vector<double> milliseconds) {
  LatencySummary summary;
  summary.count = milliseconds.size();
  if (milliseconds.empty()) return summary;
  std::sort(milliseconds.begin(), milliseconds.end());
  const auto at = [&](double fraction) {
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(milliseconds.size())));
    return milliseconds[std::max<std::size_t>(rank, 1) - 1];
  };
  summary.p50 = at(0.50);
  summary.p90 = at(0.90);
  summary.p99 = at(0.99);
  summary.max = milliseconds.back();
  return summary;
}

WriteRun write_at_rate(pqxx::connection& connection, examples::UserEventGenerator& generator, std::int64_t rate,
                       std::int64_t seconds, std::stop_token stop) {
  connection.prepare("bench_append",
                     "INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state)"
                     " VALUES ($1, $2, $3, $4, $5) RETURNING id");
  const std::string application(kApplication);
  WriteRun run;
  run.commits.reserve(static_cast<std::size_t>(rate * seconds));
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  for (std::int64_t i = 0;; ++i) {
    const auto due = start + std::chrono::nanoseconds(i * 1'000'000'000 / rate);
    if (due >= end || Clock::now() >= end || stop.stop_requested()) break;
    std::this_thread::sleep_until(due);
    const examples::StoredEvent event = generator.next();
    pqxx::work txn(connection);
    txn.exec("LOCK TABLE stored_events IN EXCLUSIVE MODE");
    const std::int64_t id =
        txn.exec_prepared1("bench_append", application, event.originator_id, event.originator_version, event.topic,
                           pqxx::binarystring(event.state))[0]
            .as<std::int64_t>();
    txn.commit();
    run.commits.push_back({id, Clock::now()});
  }
  const auto finished = stop.stop_requested() ? Clock::now() : std::max(Clock::now(), end);
  run.seconds = std::chrono::duration<double>(finished - start).count();
  return run;
}

struct VisibilityListener::Receiver final : pqxx::notification_receiver {
  Receiver(pqxx::connection& connection, VisibilityListener& owner)
      : pqxx::notification_receiver(connection, kVisibleChannel), owner_(owner) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    const auto now = Clock::now();
    std::int64_t id = 0;
    std::from_chars(payload.data(), payload.data() + payload.size(), id);
    const std::lock_guard lock(owner_.mutex_);
    owner_.arrived_.try_emplace(id, now);
  }

  VisibilityListener& owner_;
};

VisibilityListener::VisibilityListener(const std::string& url)
    : connection_(url), receiver_(std::make_unique<Receiver>(connection_, *this)) {
  // The receiver's constructor has run LISTEN on the open connection, so nothing sent from now on is missed.
  thread_ = std::thread([this] {
    while (!stop_.load()) connection_.await_notification(0, 50'000);
  });
}

VisibilityListener::~VisibilityListener() {
  stop_ = true;
  thread_.join();
}

bool VisibilityListener::wait_for_all(const std::vector<Commit>& commits, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    {
      const std::lock_guard lock(mutex_);
      if (std::all_of(commits.begin(), commits.end(), [&](const Commit& c) { return arrived_.contains(c.id); })) {
        return true;
      }
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::vector<double> VisibilityListener::latencies(const std::vector<Commit>& commits) {
  const std::lock_guard lock(mutex_);
  std::vector<double> out;
  out.reserve(commits.size());
  for (const Commit& commit : commits) {
    const auto it = arrived_.find(commit.id);
    if (it != arrived_.end()) {
      out.push_back(std::chrono::duration<double, std::milli>(it->second - commit.committed).count());
    }
  }
  return out;
}

void install_visibility_trigger(pqxx::connection& connection, const std::string& table, const std::string& id_column) {
  pqxx::nontransaction txn(connection);
  const std::string function = "bench_notify_" + table;
  txn.exec("CREATE OR REPLACE FUNCTION " + function +
           "() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN PERFORM pg_notify('" + kVisibleChannel + "', NEW." +
           id_column + "::text); RETURN NULL; END$$");
  txn.exec("CREATE TRIGGER bench_visible AFTER INSERT ON " + table + " FOR EACH ROW EXECUTE FUNCTION " + function +
           "()");
}

void drop_visibility_trigger(pqxx::connection& connection, const std::string& table) {
  pqxx::nontransaction txn(connection);
  txn.exec("DROP TRIGGER bench_visible ON " + table);
}

LivePhase measure_visibility(const std::string& url, examples::UserEventGenerator& generator, std::int64_t rate,
                             std::int64_t seconds, std::stop_token stop) {
  VisibilityListener listener(url);
  pqxx::connection writer(url);
  const WriteRun run = write_at_rate(writer, generator, rate, seconds, stop);
  LivePhase phase;
  phase.written = run.commits.size();
  phase.seconds = run.seconds;
  phase.achieved_rate = static_cast<double>(run.commits.size()) / run.seconds;
  phase.all_visible = listener.wait_for_all(run.commits, kVisibleTimeout);
  phase.latency = summarize(listener.latencies(run.commits));
  return phase;
}

void print_phase(const std::string& name, const LivePhase& phase) {
  const LatencySummary& l = phase.latency;
  std::cout << name << ": " << fixed(phase.achieved_rate, 0) << " events/s achieved, latency p50 " << fixed(l.p50, 2)
            << " ms, p90 " << fixed(l.p90, 2) << " ms, p99 " << fixed(l.p99, 2) << " ms, max " << fixed(l.max, 2)
            << " ms (" << l.count << " of " << phase.written << " events seen)" << std::endl;
}

}  // namespace projectord::bench
