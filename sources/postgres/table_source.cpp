#include "sources/postgres/table_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "base/postgres/conninfo.hpp"
#include "base/postgres/session.hpp"
#include "sources/postgres/row_decoder.hpp"
#include "sources/row_fingerprint.hpp"

namespace projectord {

namespace {

constexpr auto kMinHoleWait = std::chrono::milliseconds(5);

// A live batch that passes more empty positions than this (a sequence that jumped) records none as holes.
constexpr Position kMaxHoleScan = 10'000;

std::int64_t unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

PostgresTableSource::PostgresTableSource(config::PostgresSource source, WakeSignal& wake, const Clock& clock,
                                         postgres::Pooling pooling, std::optional<config::Partition> partition,
                                         std::shared_ptr<sources::SharedReads> shared)
    : source_(std::move(source)),
      pooling_(pooling),
      wake_(wake),
      clock_(clock),
      reader_(source_, std::move(partition)),
      horizon_(source_.commit_order, source_.hole_grace, source_.max_hole_wait, clock_),
      shared_(std::move(shared)) {
  asked_generation_ = wake_.generation();
}

void PostgresTableSource::open(const std::string& session_name, checkpoints::HoleDeadlines holes) {
  session_name_ = session_name;
  holes_ = std::move(holes);
  opened_ = clock_.now();
  if (lend_) return;
  own_.reset();
  own_.emplace(postgres::with_keepalives(source_.url));
  postgres::prepare_session(*own_, session_name_);
  reader_.prepare(*own_, pooling_);
}

pqxx::connection& PostgresTableSource::connection() {
  if (!lend_) return *own_;
  const postgres::Lent lent = lend_();
  if (lent.session != prepared_session_) {
    postgres::prepare_session(lent.connection, session_name_);
    reader_.prepare(lent.connection, pooling_);
    prepared_session_ = lent.session;
  }
  return lent.connection;
}

SourceRow PostgresTableSource::decode(const sources::RawRow& row) const {
  auto decoded = sources::decode_row(source_, row);
  if (!decoded) return {row.position, Undecodable{row.stream_id, row.type, row.payload, decoded.error(), row.version}};
  return {row.position, std::move(*decoded)};
}

// Reads and decodes one cycle on the lane's connection.
std::shared_ptr<sources::SharedCycle> PostgresTableSource::read_cycle(pqxx::connection& connection, Position after,
                                                                      std::size_t limit) {
  auto shared = std::make_shared<sources::SharedCycle>();
  shared->wake_generation = wake_.generation();
  shared->cycle = reader_.read(connection, after, limit, horizon_.bound());
  shared->observed = clock_.now();
  shared->reached_head = shared->cycle.rows.size() < limit && !shared->cycle.over_budget;
  shared->decoded.reserve(shared->cycle.rows.size());
  for (const sources::RawRow& row : shared->cycle.rows) shared->decoded.push_back(decode(row));
  return shared;
}

SourceBatch PostgresTableSource::read(Position after, std::size_t limit, std::stop_token stop) {
  // Borrowed before any wait for another lane's read: a lane that waits while it holds its connections never
  // waits for a lane that waits for them.
  pqxx::connection& reading = connection();
  std::shared_ptr<sources::SharedCycle> own;  // a cycle no other lane sees: its rows are moved out
  std::shared_ptr<const sources::SharedCycle> shared;
  if (shared_) {
    const sources::SharedReads::Ask ask{.after = after,
                                        .limit = limit,
                                        .settled = reader_.filtered() ? horizon_.bound() : 0,
                                        .not_before = std::max(opened_, horizon_.last_observed()),
                                        .wake_generation = wake_.generation()};
    const auto served = shared_->serve(ask, [&] { return read_cycle(reading, after, limit); }, stop);
    shared = served.cycle;
    if (served.shared) ++shared_cycles_;
  } else {
    own = read_cycle(reading, after, limit);
    shared = own;
  }
  const sources::ReadCycle& cycle = shared->cycle;
  seen_generation_ = shared->wake_generation;
  const auto forced_before = horizon_.forced_advances();
  horizon_.observe(cycle.snapshot, shared->observed);
  if (horizon_.forced_advances() != forced_before) forced_until_ = horizon_.bound();
  const Position settled = std::max(horizon_.bound(), cycle.contiguous_end);

  SourceBatch batch;
  batch.head = cycle.snapshot.head;
  batch.blocked = !cycle.rows.empty() && cycle.rows.back().position > settled;
  batch.truncated = !shared->reached_head;
  // How far this batch covers: past the last row read when the read was cut at the limit, else up to the
  // settled bound (no more rows exist up to there in the snapshot).
  batch.to = (!batch.blocked && batch.truncated) ? cycle.rows.back().position : settled;
  // Holes are noted live, and in a catch-up only where max_hole_wait forced the bound past an open
  // transaction (its rows may still commit); other catch-up holes are history.
  if (batch.to > cycle.contiguous_end && (!batch.truncated || cycle.contiguous_end < forced_until_)) {
    batch.to = note_passed_holes(cycle, batch.to);
  }
  const auto covered = std::ranges::partition_point(cycle.rows, [&](const sources::RawRow& row) {
                         return row.position <= batch.to;
                       }) - cycle.rows.begin();
  if (own) {
    own->decoded.erase(own->decoded.begin() + covered, own->decoded.end());
    batch.rows = std::move(own->decoded);
  } else {
    batch.rows.assign(shared->decoded.begin(), shared->decoded.begin() + covered);
  }
  return batch;
}

// Live, the horizon lets the lane pass positions that no row holds. They are looked at again in a later
// snapshot: a row of this source that committed there in the meantime ends the batch before it (the next
// read takes it in order); the others are remembered as holes, re-read for hole_recheck. Returns the
// (possibly lowered) end of the batch.
Position PostgresTableSource::note_passed_holes(const sources::ReadCycle& cycle, Position to) {
  if (source_.hole_recheck <= std::chrono::milliseconds::zero() || to - cycle.contiguous_end > kMaxHoleScan) {
    return to;
  }
  std::set<Position> read;
  for (const sources::RawRow& row : cycle.rows) read.insert(row.position);
  const auto deadline = unix_millis() + source_.hole_recheck.count();
  Position expected = cycle.contiguous_end + 1;
  for (const auto& [position, ours] : reader_.positions_between(connection(), cycle.contiguous_end, to)) {
    if (ours && !read.contains(position)) {
      to = position - 1;
      break;
    }
    for (; expected < position; ++expected) holes_.try_emplace(expected, deadline);
    expected = position + 1;
  }
  for (; expected <= to; ++expected) holes_.try_emplace(expected, deadline);
  return to;
}

// Re-reads the remembered holes: a row of this source found there is a late arrival; positions another
// application's row took, and expired ones, are forgotten.
std::vector<SourceRow> PostgresTableSource::late_rows(bool& holes_changed) {
  holes_changed = false;
  if (holes_.empty() || clock_.now() < next_recheck_) return {};
  next_recheck_ = clock_.now() + source_.poll_interval;
  std::vector<Position> positions;
  for (const auto& [position, deadline] : holes_) positions.push_back(position);
  const sources::HoleCheck check = reader_.check_holes(connection(), positions);
  const auto now = unix_millis();
  const auto before = holes_.size();
  std::erase_if(holes_, [&](const auto& hole) { return hole.second < now; });
  for (const Position taken : check.existing) holes_.erase(taken);
  holes_changed = holes_.size() != before;
  std::vector<SourceRow> rows;
  for (const sources::RawRow& row : check.rows) rows.push_back(decode(row));
  return rows;
}

std::optional<SourceRow> PostgresTableSource::read_at(Position position) {
  const sources::HoleCheck check = reader_.check_holes(connection(), {position});
  if (check.rows.empty()) return std::nullopt;
  return decode(check.rows.front());
}

Position PostgresTableSource::head() { return reader_.snapshot(connection()).head; }

RowAt PostgresTableSource::row_at(Position position) {
  const std::optional<SourceRow> row = read_at(position);
  if (!row) return {RowAt::Found::missing, 0};
  return {RowAt::Found::row, row_fingerprint(*row)};
}

void PostgresTableSource::wait(bool blocked, std::stop_token stop) {
  wake_.wait(seen_generation_, wait_time(blocked), stop, [this] { return interrupted_.exchange(false); });
}

std::chrono::milliseconds PostgresTableSource::wait_time(bool blocked) const {
  const auto deadline = horizon_.next_deadline();
  if (!blocked || !deadline) return source_.poll_interval;
  const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock_.now());
  return std::clamp<std::chrono::milliseconds>(until, kMinHoleWait, source_.poll_interval);
}

// NOTIFYs of the source's writes move the wake generation.
bool PostgresTableSource::written_since_last_asked() {
  const auto generation = wake_.generation();
  const bool written = generation != asked_generation_;
  asked_generation_ = generation;
  return written;
}

Source::Diagnostics PostgresTableSource::diagnostics() const {
  const auto pending = horizon_.oldest_pending();
  return {.open_holes = holes_.size(),
          .forced_hole_skips = horizon_.forced_advances(),
          .oldest_hole_wait = pending ? pending->waited : std::chrono::milliseconds(0),
          .blocking_xmin = pending ? pending->blocking_xmin : 0,
          .lag_events = std::nullopt,
          .shared_reads = shared_cycles_};
}

}  // namespace projectord
