#pragma once
/// A PostgreSQL event table as a lane's source: the gap-safe tail. Reads hand the lane only settled rows
/// (sources/postgres/settled_horizon.hpp); positions passed while live without a row are remembered as
/// holes and re-read for a while, so a row that commits there late is still applied (out of order, counted).
/// News comes from the source's WakeSignal (NOTIFY), or the poll interval.
#include <atomic>
#include <memory>
#include <optional>
#include <pqxx/connection>

#include "config/config.hpp"
#include "base/clock.hpp"
#include "sources/source.hpp"
#include "sources/postgres/reader.hpp"
#include "sources/postgres/settled_horizon.hpp"
#include "sources/postgres/shared_reads.hpp"
#include "base/wake_signal.hpp"

namespace projectord {

class PostgresTableSource final : public Source {
 public:
  /// `pooling`: how the connection to the source's url reaches the server ([database] pooling); `partition`:
  /// the lane reads only that partition's streams; `shared`: the cycles it shares with the other lanes of
  /// the source, or none: it reads every cycle itself.
  PostgresTableSource(config::PostgresSource source, WakeSignal& wake, const Clock& clock,
                      postgres::Pooling pooling = postgres::Pooling::session,
                      std::optional<config::Partition> partition = std::nullopt,
                      std::shared_ptr<sources::SharedReads> shared = nullptr);

  std::optional<std::string> postgres_url() const override { return source_.url; }
  void read_on(std::function<postgres::Lent()> lend) override { lend_ = std::move(lend); }
  void interrupt_wait() override {
    interrupted_ = true;
    wake_.nudge();
  }
  void open(const std::string& session_name, checkpoints::HoleDeadlines holes) override;
  SourceBatch read(Position after, std::size_t limit, std::stop_token stop) override;
  void wait(bool blocked, std::stop_token stop) override;
  void wake() override { wake_.notify(); }
  void committed(Position /*to*/) override {}
  void checkpoint_reset(Position /*to*/) override {}
  std::vector<SourceRow> late_rows(bool& holes_changed) override;
  std::optional<SourceRow> read_at(Position position) override;
  Position head() override;
  RowAt row_at(Position position) override;
  const checkpoints::HoleDeadlines& holes() const override { return holes_; }
  bool written_since_last_asked() override;
  Diagnostics diagnostics() const override;
  const std::string& name() const override { return source_.name; }
  std::size_t batch_size() const override { return source_.batch_size; }

 private:
  pqxx::connection& connection();
  std::shared_ptr<sources::SharedCycle> read_cycle(pqxx::connection& connection, Position after, std::size_t limit);
  Position note_passed_holes(const sources::ReadCycle& cycle, Position to);
  std::chrono::milliseconds wait_time(bool blocked) const;
  SourceRow decode(const sources::RawRow& row) const;

  config::PostgresSource source_;
  postgres::Pooling pooling_;
  WakeSignal& wake_;
  const Clock& clock_;
  sources::PostgresReader reader_;
  sources::SettledHorizon horizon_;
  std::shared_ptr<sources::SharedReads> shared_;
  std::uint64_t shared_cycles_ = 0;  ///< cycles taken from another lane's read
  Clock::time_point opened_{};       ///< the session's start: no cycle read before it is taken
  std::function<postgres::Lent()> lend_;  ///< the lane's borrowed connection (Source::read_on), or none
  std::optional<pqxx::connection> own_;    ///< else the source's own
  std::uint64_t prepared_session_ = 0;     ///< the lent session the reader's statements are prepared on
  std::atomic<bool> interrupted_{false};   ///< interrupt_wait came: the next wait() returns at once
  std::string session_name_;
  std::uint64_t seen_generation_ = 0;   ///< the wake generation before the last read (for wait)
  std::uint64_t asked_generation_ = 0;  ///< the wake generation at the last written_since_last_asked
  checkpoints::HoleDeadlines holes_;
  Position forced_until_ = 0;         ///< the bound max_hole_wait last forced: holes below it are noted
  Clock::time_point next_recheck_{};  ///< when late_rows looks at the holes again
};

}  // namespace projectord
