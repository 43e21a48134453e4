#include "daemon/lane/rebuild_mode.hpp"

#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <pqxx/transaction>

#include "base/postgres/errors.hpp"
#include "base/printable.hpp"
#include "checkpoints/rebuilds.hpp"
#include "daemon/lane/failure.hpp"

namespace projectord {

namespace {

// The nice value of a rebuild lane's thread (see yield_cpu_to_live_lanes).
constexpr int kRebuildNice = 10;

// A rebuild's read size while its source is being written (see read_limit).
constexpr std::size_t kRebuildBatchUnderWrites = 200;

}  // namespace

void RebuildMode::enter(pqxx::connection& target, postgres::SessionSettings& session) {
  if (settings_.fresh) {
    settings_.cohort->begin_once([&] {
      pqxx::work txn(target);
      rebuild::begin(txn, handler_, settings_.requested_by, settings_.members);
      txn.commit();
      spdlog::info("handler={} event=rebuild_started shadow={} partitions={} requested_by={}", handler_,
                   rebuild::shadow_schema(handler_), settings_.members, log_value(settings_.requested_by));
    });
  }
  rebuild::enter_shadow(target, handler_, session);
}

bool RebuildMode::reached_live(pqxx::connection& target, Position position, Position head) const {
  return position >= std::min(rebuild::live_position(target, lane_), head);
}

std::optional<Result<void>> RebuildMode::swap_in(const std::function<pqxx::connection&()>& target, Position position,
                                                 std::stop_token stop) {
  if (settings_.members > 1) {
    spdlog::info("handler={} event=rebuild_partition_at_live position={} action=waiting_for_partitions", lane_,
                 position);
  }
  return settings_.cohort->arrive(settings_.member, stop, [&] { return swap_now(target(), position); });
}

Result<void> RebuildMode::swap_now(pqxx::connection& target, Position position) {
  pqxx::work txn(target);
  const auto swapped = rebuild::swap(txn, handler_, settings_.members);
  if (!swapped) {
    txn.abort();
    spdlog::error("handler={} event=rebuild_failed action=abandoned error={}", handler_, log_value(swapped.error()));
    pqxx::work cleanup(target);
    rebuild::abandon(cleanup, handler_);
    cleanup.commit();
    return fail(swapped.error());
  }
  if (settings_.tracking) {
    settings_.tracking->detect(txn);
    settings_.tracking->reset(txn, position);
  }
  txn.commit();
  std::string tables;
  for (const std::string& table : *swapped) tables += (tables.empty() ? "" : ",") + table;
  spdlog::info("handler={} event=rebuild_swapped position={} partitions={} tables={}", handler_, position,
               settings_.members, tables);
  return {};
}

void RebuildMode::abandon(const std::function<pqxx::connection&()>& target) {
  try {
    pqxx::work txn(target());
    rebuild::abandon(txn, handler_);
    txn.commit();
    spdlog::warn("handler={} event=rebuild_abandoned", handler_);
  } catch (const std::exception& error) {  // the next start resumes the rebuild and refuses it again
    spdlog::error("handler={} event=rebuild_abandon_failed error={}", handler_,
                  log_value(postgres::one_line(error.what())));
  }
}

// While its source is being written, a rebuild works in small transactions: its bursts of CPU, WAL and
// locks stay short, and live lanes' commits wait less behind them.
std::size_t RebuildMode::read_limit(std::size_t batch_size, bool source_written) {
  under_writes_ = source_written;
  if (under_writes_ && !cpu_yielded_) yield_cpu_to_live_lanes();
  return under_writes_ ? std::min(batch_size, kRebuildBatchUnderWrites) : batch_size;
}

// A throttled rebuild reads at most max_rate rows a second on average over its session.
Clock::time_point RebuildMode::next_read_due(std::size_t rows) {
  throttled_rows_ += rows;
  const double seconds = static_cast<double>(throttled_rows_) / static_cast<double>(settings_.max_rate);
  return throttle_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// A rebuild competes with the live lanes for the CPU (bench/rebuild: on two cores an unthrottled replay
// raised live append-to-visible p99 3-18 times). At a lower scheduling priority its thread gets whatever
// the live lanes leave; its server backend, fed by this thread, follows. Only from the first write of its
// source on: before, there is no live work to yield to, and a niced thread only loses the CPU to the server
// backends, its own included. Raising one's own nice value needs no privilege; lowering it again would.
void RebuildMode::yield_cpu_to_live_lanes() {
  cpu_yielded_ = true;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kRebuildNice) != 0) {
    spdlog::warn("handler={} event=rebuild_priority_unchanged error={}", handler_, log_value(std::strerror(errno)));
  }
}

}  // namespace projectord
