#include "daemon/http/metrics.hpp"

#include <dirent.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace projectord::http {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr LaneState kStates[] = {LaneState::starting,         LaneState::catching_up,  LaneState::idle,
                                 LaneState::waiting_for_hole, LaneState::reconnecting, LaneState::halted,
                                 LaneState::stopped};

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

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

std::string render_metrics(const std::vector<HandlerStatus>& handlers) {
  std::vector<MetricFamily> families;
  families.push_back(per_handler(handlers, "projectord_events_applied_total", "Events applied by the handler.",
                                 MetricType::Counter, [](const LaneStatus& s) { return s.events_applied; }));
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
  families.push_back(per_handler(handlers, "projectord_checkpoint_position", "Position of the handler's checkpoint.",
                                 MetricType::Gauge, [](const LaneStatus& s) { return s.position; }));
  families.push_back(per_handler(handlers, "projectord_oldest_hole_wait_seconds",
                                 "How long the oldest unsettled position has waited (0: none).", MetricType::Gauge,
                                 [](const LaneStatus& s) { return s.oldest_hole_wait.count() / 1000.0; }));

  MetricFamily states{
      "projectord_handler_state", "1 for the handler's current state, 0 for the others.", MetricType::Gauge, {}};
  for (const HandlerStatus& handler : handlers) {
    for (const LaneState state : kStates) {
      ClientMetric sample;
      sample.label = {{"handler", handler.name}, {"source", handler.source}, {"state", std::string(to_string(state))}};
      sample.gauge.value = handler.status.state == state ? 1 : 0;
      states.metric.push_back(std::move(sample));
    }
  }
  families.push_back(std::move(states));

  families.push_back(
      process_gauge("process_resident_memory_bytes", "Resident memory size in bytes.", resident_bytes()));
  families.push_back(process_gauge("process_open_fds", "Open file descriptors.", open_fds()));
  families.push_back(process_gauge("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                                   cpu_seconds(), MetricType::Counter));

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace projectord::http
