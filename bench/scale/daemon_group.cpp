#include "bench/scale/daemon_group.hpp"

#include <signal.h>

#include <algorithm>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <stdexcept>
#include <utility>

namespace projectord::bench {

namespace {

// Fine enough to time a failover of seconds, light enough not to load the server it measures.
constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr auto kStopTimeout = std::chrono::seconds(60);

}  // namespace

DaemonGroup::DaemonGroup(const Projectord& projectord, std::string work_dir)
    : projectord_(projectord), work_dir_(std::move(work_dir)) {}

pid_t DaemonGroup::start() {
  // Numbered by start, never reused: a restarted daemon's log does not run on into its predecessor's.
  Member member{nullptr, work_dir_ + "/projectord-" + std::to_string(++started_) + ".log"};
  member.child = std::make_unique<Child>(projectord_.command({"run"}), projectord_.env(), member.log_path);
  members_.push_back(std::move(member));
  return members_.back().child->pid();
}

std::vector<pid_t> DaemonGroup::pids() const {
  std::vector<pid_t> pids;
  for (const Member& member : members_) pids.push_back(member.child->pid());
  return pids;
}

void DaemonGroup::kill(pid_t pid) {
  const auto it =
      std::find_if(members_.begin(), members_.end(), [pid](const Member& m) { return m.child->pid() == pid; });
  if (it == members_.end()) throw std::logic_error("bench::DaemonGroup::kill: no daemon " + std::to_string(pid));
  it->child->signal(SIGKILL);
  it->child->wait();
  members_.erase(it);
}

bool DaemonGroup::wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                             std::string_view while_doing) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    // The first daemon's wait is the poll's pause; the others' only collect exits that have arrived.
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (const auto exit = members_[i].child->wait_for(i == 0 ? kPollInterval : std::chrono::milliseconds(0))) {
        throw std::runtime_error("projectord (log " + members_[i].log_path + ") exited with " +
                                 std::to_string(exit->exit_code) + " while " + std::string(while_doing) + ":\n" +
                                 tail_of(members_[i].log_path));
      }
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
  return true;
}

double DaemonGroup::stop_all(Checks& checks, std::string_view phase) {
  for (const Member& member : members_) member.child->signal(SIGTERM);
  double cpu_seconds = 0;
  int clean = 0;
  std::string first_failure;
  for (Member& member : members_) {
    const auto exit = member.child->wait_for(kStopTimeout);
    if (exit) cpu_seconds += exit->cpu_seconds;
    if (exit && exit->exit_code == 0) {
      ++clean;
    } else if (first_failure.empty()) {
      first_failure = "; " + member.log_path + ": " +
                      (exit ? "exit " + std::to_string(exit->exit_code) : "still running after 60 s") + "\n" +
                      tail_of(member.log_path);
    }
  }
  checks.expect(clean == static_cast<int>(members_.size()),
                std::string(phase) + ": every projectord exits 0 on SIGTERM",
                std::to_string(clean) + " of " + std::to_string(members_.size()) + first_failure);
  members_.clear();
  return cpu_seconds;
}

std::map<pid_t, std::int64_t> leases_by_pid(pqxx::connection& connection) {
  pqxx::nontransaction txn(connection);
  const pqxx::result rows = txn.exec(
      "SELECT pid, count(*) FROM projectord.leases WHERE expires_at > now() AND name NOT LIKE '%:rebuild'"
      " GROUP BY pid");
  std::map<pid_t, std::int64_t> leases;
  for (const pqxx::row& row : rows) leases[row[0].as<pid_t>()] = row[1].as<std::int64_t>();
  return leases;
}

bool each_holds(pqxx::connection& connection, const DaemonGroup& group, std::int64_t share) {
  const auto leases = leases_by_pid(connection);
  for (const pid_t pid : group.pids()) {
    if (!leases.contains(pid) || leases.at(pid) != share) return false;
  }
  return true;
}

}  // namespace projectord::bench
