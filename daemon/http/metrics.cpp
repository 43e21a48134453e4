#include "daemon/http/metrics.hpp"

#include <dirent.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace projectord::http {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One family with a sample per handler, read from its status by `value`.
template <class Value>
MetricFamily per_handler(const std::vector<HandlerStatus>& handlers, std::string name, std::string help,
                         MetricType type, Value value) {
  MetricFamily family{std::move(name), std::move(help), type, {}};
  for (const HandlerStatus& handler : handlers) {
    ClientMetric sample;
    sample.label = {{"handler", handler.name}, {"source", handler.source}};
    const double v = static_cast<double>(value(handler.status));
    (type == MetricType::Counter ? sample.counter.value : sample.gauge.value) = v;
    family.metric.push_back(std::move(sample));
  }
  return family;
}

// A histogram family from the lane's fixed-bucket histograms (base/histogram.hpp).
template <std::size_t N>
MetricFamily per_handler_histogram(const std::vector<HandlerStatus>& handlers, std::string name, std::string help,
                                   Histogram<N> LaneStatus::*member) {
  MetricFamily family{std::move(name), std::move(help), MetricType::Histogram, {}};
  for (const HandlerStatus& handler : handlers) {
    const Histogram<N>& histogram = handler.status.*member;
    ClientMetric sample;
    sample.label = {{"handler", handler.name}, {"source", handler.source}};
    sample.histogram.sample_count = histogram.count;
    sample.histogram.sample_sum = histogram.sum;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < N; ++i) {
      cumulative += histogram.counts[i];
      sample.histogram.bucket.push_back({cumulative, histogram.upper_bounds[i]});
    }
    // prometheus-cpp writes the +Inf bucket itself from sample_count.
    family.metric.push_back(std::move(sample));
  }
  return family;
}

MetricFamily process_gauge(std::string name, std::string help, double value, MetricType type = MetricType::Gauge) {
  ClientMetric sample;
  (type == MetricType::Counter ? sample.counter.value : sample.gauge.value) = value;
  return {std::move(name), std::move(help), type, {sample}};
}

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = -1;  // the directory stream's own descriptor
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count - 2;  // "." and ".."
}

// Seconds since the epoch at which the process started: the boot time (/proc/stat's btime) plus the start
// in clock ticks after boot (/proc/self/stat's 22nd field). A restart, by systemd's watchdog or otherwise,
// shows as this value changing.
double start_time_seconds() {
  std::ifstream proc_stat("/proc/stat");
  std::string line;
  double boot_time = 0;
  while (std::getline(proc_stat, line)) {
    if (line.starts_with("btime ")) boot_time = std::stod(line.substr(6));
  }
  std::ifstream self_stat("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(self_stat)), std::istreambuf_iterator<char>());
  // The command name in parentheses may hold spaces: fields are counted from the last ')', which ends field 2.
  std::istringstream fields(stat.substr(stat.rfind(')') + 1));
  std::string skipped;
  for (int field = 3; field < 22; ++field) fields >> skipped;
  double ticks = 0;
  fields >> ticks;
  return boot_time + ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

std::string render_metrics(const std::vector<HandlerStatus>& handlers, const HealthLimits& limits) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<LaneHealth> health;
  health.reserve(handlers.size());
  for (const HandlerStatus& handler : handlers) health.push_back(assess(handler.status, now, limits));

  std::vector<MetricFamily> families;
  families.push_back(per_handler(handlers, "projectord_events_applied_total", "Events applied by the handler.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.events_applied; }));
  families.push_back(per_handler(handlers, "projectord_event_failures_total",
                                 "Failed attempts to apply an event (every retry counts) and undecodable payloads.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.failed_attempts; }));
  families.push_back(per_handler(handlers, "projectord_dead_letters_total",
                                 "Events the handler gave up on and recorded in projectord.dead_letters.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.dead_letters; }));
  families.push_back(per_handler(handlers, "projectord_reconnects_total",
                                 "Times the handler lost its database connections and reconnected.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.reconnects; }));
  families.push_back(per_handler(handlers, "projectord_late_arrivals_total",
                                 "Rows found in positions the handler had passed as holes, applied out of order.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.late_arrivals; }));
  families.push_back(per_handler(handlers, "projectord_forced_hole_skips_total",
                                 "Times max_hole_wait forced the settled bound past a transaction still open.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.forced_hole_skips; }));
  families.push_back(per_handler(handlers, "projectord_shared_reads_total",
                                 "Read cycles the handler took from another handler's read of the same source.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.shared_reads; }));
  families.push_back(per_handler(handlers, "projectord_checkpoint_position", "Position of the handler's checkpoint.",
                                 MetricType::Gauge, [](const LaneStatus& s) { return s.position; }));
  families.push_back(per_handler(handlers, "projectord_head_position",
                                 "Highest position of the handler's source table in its last read.",
                                 MetricType::Gauge, [](const LaneStatus& s) { return s.head; }));
  families.push_back(per_handler(handlers, "projectord_open_holes",
                                 "Positions passed as holes that are still re-read for late rows.", MetricType::Gauge,
                                 [](const LaneStatus& s) { return s.open_holes; }));
  families.push_back(per_handler(handlers, "projectord_oldest_hole_wait_seconds",
                                 "How long the oldest unsettled position has waited (0: none).", MetricType::Gauge,
                                 [](const LaneStatus& s) { return s.oldest_hole_wait.count() / 1000.0; }));

  families.push_back(per_handler_histogram(handlers, "projectord_batch_size_events",
                                           "Events applied per committed transaction.", &LaneStatus::batch_sizes));
  families.push_back(per_handler_histogram(handlers, "projectord_batch_duration_seconds",
                                           "Time from a batch's first read to its commit.",
                                           &LaneStatus::batch_seconds));

  MetricFamily lag_positions{"projectord_lag_positions",
                             "Positions between the checkpoint and the source's head (for a filtered source, other "
                             "applications' rows count too).",
                             MetricType::Gauge,
                             {}};
  MetricFamily lag_seconds{
      "projectord_lag_seconds", "How long the handler has been short of its source's head (0: at the head).",
      MetricType::Gauge, {}};
  MetricFamily ready{"projectord_handler_ready",
                     "1 while the handler counts as ready for /readyz (connected, not halted or stuck, lag under "
                     "ready_max_lag), 0 otherwise.",
                     MetricType::Gauge,
                     {}};
  MetricFamily states{"projectord_handler_state",
                      "1 for the handler's current state (see /status for the reason), 0 for the others.",
                      MetricType::Gauge,
                      {}};
  for (std::size_t i = 0; i < handlers.size(); ++i) {
    const HandlerStatus& handler = handlers[i];
    const ClientMetric::Label name{"handler", handler.name};
    const ClientMetric::Label source{"source", handler.source};
    ClientMetric sample;
    sample.label = {name, source};
    sample.gauge.value = static_cast<double>(health[i].lag_positions);
    lag_positions.metric.push_back(sample);
    sample.gauge.value = health[i].lag_seconds;
    lag_seconds.metric.push_back(sample);
    sample.gauge.value = health[i].ready ? 1 : 0;
    ready.metric.push_back(sample);
    for (const std::string_view state : kReportedStates) {
      sample.label = {name, source, {"state", std::string(state)}};
      sample.gauge.value = health[i].state == state ? 1 : 0;
      states.metric.push_back(sample);
    }
  }
  MetricFamily rebuild_progress{"projectord_rebuild_progress_ratio",
                                "Shadow position / head of a rebuild in progress (only while one runs).",
                                MetricType::Gauge,
                                {}};
  for (const HandlerStatus& handler : handlers) {
    if (!handler.rebuild || handler.rebuild->phase == "failed") continue;
    ClientMetric sample;
    sample.label = {{"handler", handler.name}, {"source", handler.source}, {"phase", handler.rebuild->phase}};
    sample.gauge.value = handler.rebuild->progress();
    rebuild_progress.metric.push_back(std::move(sample));
  }
  families.push_back(std::move(rebuild_progress));
  families.push_back(std::move(lag_positions));
  families.push_back(std::move(lag_seconds));
  families.push_back(std::move(ready));
  families.push_back(std::move(states));

  families.push_back(
      process_gauge("process_resident_memory_bytes", "Resident memory size in bytes.", resident_bytes()));
  families.push_back(process_gauge("process_open_fds", "Open file descriptors.", open_fds()));
  families.push_back(process_gauge("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                                   cpu_seconds(), MetricType::Counter));
  families.push_back(process_gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                                   start_time_seconds()));

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace projectord::http
