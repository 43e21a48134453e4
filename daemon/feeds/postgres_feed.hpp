#pragma once
/// A PostgreSQL event table as a lane's feed: the gap-safe tail of DESIGN §2. Reads hand the lane only
/// settled rows (sources/settled_horizon.hpp); positions passed while live without a row are remembered as
/// holes and re-read for a while, so a row that commits there late is still applied (out of order, counted).
/// News comes from the source's WakeSignal (NOTIFY), or the poll interval.
#include <memory>
#include <optional>
#include <pqxx/connection>

#include "config/config.hpp"
#include "daemon/clock.hpp"
#include "daemon/feeds/feed.hpp"
#include "daemon/sources/postgres_reader.hpp"
#include "daemon/sources/settled_horizon.hpp"
#include "daemon/wake_signal.hpp"

namespace projectord {

class PostgresFeed final : public Feed {
 public:
  PostgresFeed(config::PostgresSource source, WakeSignal& wake, const Clock& clock);

  void open(const std::string& session_name, checkpoints::HoleDeadlines holes) override;
  FeedBatch read(Position after, std::size_t limit, std::stop_token stop) override;
  void wait(bool blocked, std::stop_token stop) override;
  void wake() override { wake_.notify(); }
  void committed(Position /*to*/) override {}
  std::vector<FedRow> late_rows(bool& holes_changed) override;
  std::optional<FedRow> read_at(Position position) override;
  const checkpoints::HoleDeadlines& holes() const override { return holes_; }
  bool written_since_last_asked() override;
  Diagnostics diagnostics() const override;
  const std::string& source_name() const override { return source_.name; }
  std::size_t batch_size() const override { return source_.batch_size; }

 private:
  Position note_passed_holes(sources::ReadCycle& cycle, Position to);
  std::chrono::milliseconds wait_time(bool blocked) const;
  FedRow decode(const sources::RawRow& row) const;

  config::PostgresSource source_;
  WakeSignal& wake_;
  const Clock& clock_;
  sources::PostgresReader reader_;
  sources::SettledHorizon horizon_;
  std::optional<pqxx::connection> connection_;
  std::uint64_t seen_generation_ = 0;   ///< the wake generation before the last read (for wait)
  std::uint64_t asked_generation_ = 0;  ///< the wake generation at the last written_since_last_asked
  checkpoints::HoleDeadlines holes_;
  Position forced_until_ = 0;         ///< the bound max_hole_wait last forced: holes below it are noted
  Clock::time_point next_recheck_{};  ///< when late_rows looks at the holes again
};

}  // namespace projectord
