#include "daemon/lane.hpp"

#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <future>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <set>

#include "checkpoints/checkpoint_store.hpp"
#include "checkpoints/dead_letters.hpp"
#include "base/backoff.hpp"
#include "base/postgres/errors.hpp"
#include "base/postgres/session.hpp"
#include "daemon/lane_control.hpp"
#include "daemon/progress_watch.hpp"
#include "checkpoints/rebuilds.hpp"
#include "handlers/event_types.hpp"

namespace projectord {

std::string_view to_string(LaneState state) {
  switch (state) {
    case LaneState::starting:
      return "starting";
    case LaneState::catching_up:
      return "catching_up";
    case LaneState::idle:
      return "idle";
    case LaneState::waiting_for_hole:
      return "waiting_for_hole";
    case LaneState::reconnecting:
      return "reconnecting";
    case LaneState::paused:
      return "paused";
    case LaneState::halted:
      return "halted";
    case LaneState::stopped:
      return "stopped";
  }
  return "unknown";
}

namespace {

// Errors that say nothing about the event: the connection, the server going away, contention the server
// resolves, or another process moving our checkpoint. They are retried forever; nothing is skipped.
bool is_transient(const std::exception& error) {
  return postgres::is_transient(error) || dynamic_cast<const checkpoints::CheckpointMoved*>(&error) != nullptr;
}

// Thrown out of the batch path when on_error = "stop" gives up on an event in a one-shot run; ends the run.
struct Halted {};
// Thrown out of a halt when an operator resumes the lane: it starts a new session (reconnect, re-read).
struct Resumed {};
// Thrown out of a retry wait when shutdown is requested.
struct Stopping {};
// Thrown when a transaction written in the background failed for a reason of its events' own: the lane has
// read and folded on past it, so a new session starts from the checkpoint and replays the range carefully.
struct Rewind {};

// While catching up, one write transaction spans this many full reads (batch_size each): handlers that fold
// (users) write each row once per transaction, and there are fewer commits to wait for. Bounded so that a
// rollback loses little work and the folds' memory stays small: a folding handler holds two transactions'
// at once, one being written while the next is folded (bench/catchup: 2 x 5000 events as fast as 4 x 5000,
// peak RSS 40 MB instead of 55-58 MB).
constexpr std::size_t kReadsPerTransaction = 2;

// The advisory lock class of handler locks (the other key is the hash of the checkpoint's name), and how often
// a standby asks for the lock.
constexpr int kHandlerLockClass = 0x70726f6a;  // "proj"
constexpr auto kStandbyPoll = std::chrono::milliseconds(500);

// The nice value of a rebuild lane's thread (see yield_cpu_to_live_lanes).
constexpr int kRebuildNice = 10;

// A rebuild's read size while its source is being written (see rebuild_under_writes).
constexpr std::size_t kRebuildBatchUnderWrites = 200;

// Server messages span lines (ERROR, CONTEXT, ...); a log line stays one line.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

}  // namespace

class Lane::Impl {
 public:
  Impl(config::Handler handler, std::unique_ptr<Source> source, std::string target_url,
       std::unique_ptr<handlers::ProjectionHandler> projection, const Clock& clock, LaneOptions options)
      : handler_(std::move(handler)),
        source_(std::move(source)),
        target_url_(std::move(target_url)),
        projection_(std::move(projection)),
        folding_(projection_->folding()),
        clock_(clock),
        options_(options),
        checkpoint_(options_.rebuild ? rebuild::shadow_checkpoint(handler_.name) : handler_.name,
                    source_->name()),
        types_(handler_.types),
        progress_(options_.progress_window),
        control_(handler_.name) {}

  void run(std::stop_token stop) {
    stop_ = stop;
    Backoff reconnect(std::chrono::milliseconds(100), std::chrono::seconds(30));
    while (!stop.stop_requested()) {
      try {
        update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
        session(stop, reconnect);
        break;
      } catch (const Halted&) {
        return;
      } catch (const Resumed&) {
        spdlog::info("handler={} event=resumed action=reconnecting", handler_.name);
        continue;
      } catch (const Rewind&) {
        continue;  // at once: nothing is wrong with the connection
      } catch (const Stopping&) {
        break;
      } catch (const SourceRefused& refused) {
        refuse(refused.what());
        break;
      } catch (const std::exception& error) {
        const auto delay = reconnect.next();
        spdlog::error("handler={} source={} event=error retry_in_ms={} error=\"{}\"", handler_.name,
                      source_->name(), delay.count(), one_line(error.what()));
        update([&](LaneStatus& s) {
          s.last_error = one_line(error.what());
          ++s.reconnects;
        });
        set_state(LaneState::reconnecting);
        update([&](LaneStatus& s) { s.busy_since.reset(); });
        sleep(delay);
      }
    }
    set_state(LaneState::stopped);
  }

  // The source cannot serve this lane as configured: it ends, saying why; a rebuild drops its shadow (the
  // live read model goes on untouched).
  void refuse(const std::string& why) {
    spdlog::error("handler={} source={} event=refused error=\"{}\"", handler_.name, source_->name(), why);
    update([&](LaneStatus& s) {
      s.last_error = why;
      s.busy_since.reset();
    });
    if (!options_.rebuild) return;
    try {
      pqxx::connection target(target_url_);
      pqxx::work txn(target);
      rebuild::abandon(txn, handler_.name);
      txn.commit();
      spdlog::warn("handler={} event=rebuild_abandoned", handler_.name);
    } catch (const std::exception& error) {  // the next start resumes the rebuild and refuses it again
      spdlog::error("handler={} event=rebuild_abandon_failed error=\"{}\"", handler_.name, one_line(error.what()));
    }
  }

  LaneStatus status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
  }

  const std::string& name() const { return handler_.name; }

  Result<void> pause() {
    const auto requested = control_.pause(status().state);
    if (requested) source_->wake();  // out of an idle wait
    return requested;
  }

  Result<void> resume() { return control_.resume(status().state); }

  Result<Position> skip() {
    const LaneStatus now = status();
    return control_.skip(now.state, now.halted_at);
  }

  void dead_letters(DeadLetterAction action, std::optional<std::int64_t> id) {
    {
      std::lock_guard lock(status_mutex_);
      letter_requests_.push_back({action, id});
    }
    source_->wake();
  }

 private:
  // Holds the lane, between transactions, until it is resumed or the daemon stops.
  void hold_while_paused(std::stop_token stop) {
    set_state(LaneState::paused);
    update([&](LaneStatus& s) { s.busy_since.reset(); });
    control_.wait_while_paused(stop);
  }

  // A write transaction that spans several read chunks during catch-up (see kReadsPerTransaction). A folding
  // handler's has no server transaction until it is written (see write_in_background).
  struct OpenTransaction {
    pqxx::connection* target;
    std::unique_ptr<pqxx::work> txn;
    Clock::time_point started;  ///< its first read
    Position to = 0;
    std::int64_t events = 0;
    std::size_t reads = 0;
  };

  void session(std::stop_token stop, Backoff& reconnect) {
    // Reads run in their own transactions while a write transaction may be open: the source has its own connection.
    pqxx::connection target(target_url_);
    // Declared after the connection: a transaction still being written on it ends before it closes.
    const ForgetWritingOnExit writing_ends_first{writing_};
    postgres::prepare_session(target, handler_.name);
    hold_handler_lock(target);
    postgres::set_synchronous_commit(target, options_.synchronous_commit);
    if (options_.rebuild) enter_rebuild(target);
    {
      pqxx::work setup(target);
      for (const std::string& sql : projection_->setup_sql()) setup.exec(sql);
      setup.commit();
    }
    projection_->discard();
    projection_->on_connect(target);
    checkpoint_.prepare(target);
    checkpoints::Checkpoint loaded = checkpoint_.load(target);
    position_ = loaded.position;
    reader_indexes_pending_ = !projection_->reader_indexes().empty();
    if (position_ > 0 && reader_indexes_pending_) build_reader_indexes(target);
    source_->open(handler_.name + ":read", std::move(loaded.holes));
    update([&](LaneStatus& s) { s.position = position_; });
    if (options_.on_checkpoint) options_.on_checkpoint(position_);
    reconnect.reset();
    spdlog::info("handler={} source={} event=connected checkpoint={} position={}", handler_.name,
                 source_->name(), checkpoint_.key(), position_);

    throttle_start_ = clock_.now();
    throttled_rows_ = 0;
    std::optional<OpenTransaction> open;  // declared after the connections: destroyed (rolled back) first
    while (!stop.stop_requested()) {
      if (control_.pause_requested()) {
        if (open) commit_open(open);
        finish_writing();
        hold_while_paused(stop);
        continue;
      }
      update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
      const Position read_from = open ? open->to : writing_ ? writing_->to : position_;
      const auto read_started = clock_.now();
      SourceBatch batch = source_->read(read_from, read_limit(), stop);
      head_ = std::max(head_, batch.head);
      const bool blocked = batch.blocked;
      const bool truncated = batch.truncated;
      const bool progressed = batch.to > read_from;
      if (progressed) {
        if (open || (truncated && read_from >= careful_until_)) {
          add_to_open(target, open, batch.rows, batch.to, read_started);
        } else {
          batch_started_ = read_started;
          process(target, batch.rows, batch.to);
        }
      }
      if (open && (!truncated || ++open->reads >= reads_per_transaction())) commit_open(open, truncated);
      if (!truncated) finish_writing();
      if (!truncated && !open && reader_indexes_pending_) build_reader_indexes(target);
      if (options_.rebuild && options_.rebuild->max_rate > 0) throttle(open, batch.rows.size());

      set_state(blocked ? LaneState::waiting_for_hole : truncated ? LaneState::catching_up : LaneState::idle);
      progress_.observe(clock_.now(), position_, head_);
      update([&](LaneStatus& s) {
        s.head = head_;
        s.behind_since = progress_.behind_since();
        s.last_progress = progress_.last_progress();
        s.lag_growing = progress_.lag_growing();
        const Source::Diagnostics diagnostics = source_->diagnostics();
        s.open_holes = diagnostics.open_holes;
        s.forced_hole_skips = diagnostics.forced_hole_skips;
        s.oldest_hole_wait = diagnostics.oldest_hole_wait;
        s.blocking_xmin = diagnostics.blocking_xmin;
        s.lag_events = diagnostics.lag_events;
      });
      // Between transactions only: a late arrival, or a retried dead letter, commits in a transaction of its own.
      if (!open) {
        apply_late_rows(target);
        serve_letter_requests(target);
      }
      if (!blocked && !truncated && options_.exit_when_caught_up) return;
      if (!blocked && !truncated && !open && options_.rebuild && options_.rebuild->may_swap()) {
        swap_in(target);
        return;
      }
      if (progressed && (truncated || !batch.rows.empty())) continue;
      update([&](LaneStatus& s) { s.busy_since.reset(); });
      source_->wait(blocked, stop);
    }
    if (open) commit_open(open);
    finish_writing();
  }

  // One process runs a handler at a time (DESIGN §6): another stands by on the lock and takes over as soon
  // as the first one's session ends (a crash, a stop). The checkpoint's compare-and-set alone would stop two
  // processes applying an event twice, but a Redis consumer group would split the entries between them.
  void hold_handler_lock(pqxx::connection& target) {
    bool told = false;
    while (true) {
      pqxx::nontransaction txn(target);
      const pqxx::result locked =
          txn.exec_params("SELECT pg_try_advisory_lock($1, hashtext($2))", kHandlerLockClass, checkpoint_.key());
      if (locked[0][0].as<bool>()) break;
      if (!told) {
        spdlog::warn("handler={} event=standby reason=\"another process runs it\" lock={}", handler_.name,
                     checkpoint_.key());
        update([&](LaneStatus& s) { s.last_error = "standing by: another process runs handler " + handler_.name; });
        told = true;
      }
      update([&](LaneStatus& s) { s.busy_since.reset(); });
      pause(kStandbyPoll);
    }
    if (told) spdlog::info("handler={} event=taking_over", handler_.name);
  }

  // The indexes for readers of the model (ProjectionHandler::reader_indexes): after a build from position 0
  // has caught up, or at once in a session that starts further on (all present: nothing to do). One index is
  // one unit of work for the watchdog and the stuck state, as a batch is.
  void build_reader_indexes(pqxx::connection& target) {
    finish_writing();
    const auto started = clock_.now();
    for (const handlers::ReaderIndex& index : projection_->reader_indexes()) {
      update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
      pqxx::nontransaction txn(target);
      handlers::create_reader_index(txn, index);
    }
    reader_indexes_pending_ = false;
    spdlog::info("handler={} event=reader_indexes_ready position={} ms={}", handler_.name, position_,
                 std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count());
  }

  // A rebuild competes with the live lanes for the CPU (bench/rebuild: on two cores an unthrottled replay
  // raised live append-to-visible p99 3-18 times). At a lower scheduling priority its thread gets whatever
  // the live lanes leave; its server backend, fed by this thread, follows. Only from the first write of its
  // source on: before, there is no live work to yield to, and a niced thread only loses the CPU to the server
  // backends, its own included. Raising one's own nice value needs no privilege; lowering it again would.
  void yield_cpu_to_live_lanes() {
    cpu_yielded_ = true;
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kRebuildNice) != 0) {
      spdlog::warn("handler={} event=rebuild_priority_unchanged error=\"{}\"", handler_.name, std::strerror(errno));
    }
  }

  // While its source is being written, a rebuild works in small transactions: its bursts of CPU, WAL and
  // locks stay short, and live lanes' commits wait less behind them.
  std::size_t read_limit() {
    under_writes_ = options_.rebuild && source_->written_since_last_asked();
    if (under_writes_ && !cpu_yielded_) yield_cpu_to_live_lanes();
    const std::size_t batch_size = source_->batch_size();
    return under_writes_ ? std::min(batch_size, kRebuildBatchUnderWrites) : batch_size;
  }
  std::size_t reads_per_transaction() const { return under_writes_ ? 1 : kReadsPerTransaction; }

  // A throttled rebuild reads at most max_rate rows a second on average over its session. It waits between
  // transactions: an open one would hold back the snapshot horizon of every lane on this database.
  void throttle(std::optional<OpenTransaction>& open, std::size_t rows) {
    throttled_rows_ += rows;
    const double seconds = static_cast<double>(throttled_rows_) / static_cast<double>(options_.rebuild->max_rate);
    const auto due = throttle_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    if (due <= clock_.now()) return;
    if (open) commit_open(open);
    finish_writing();
    update([&](LaneStatus& s) { s.busy_since.reset(); });
    pause(std::chrono::ceil<std::chrono::milliseconds>(due - clock_.now()));
  }

  // A rebuild lane's connection writes the shadow schema; a fresh rebuild first clears what an earlier one left.
  void enter_rebuild(pqxx::connection& target) {
    if (options_.rebuild->fresh && !rebuild_begun_) {
      pqxx::work txn(target);
      rebuild::begin(txn, handler_.name, options_.rebuild->requested_by);
      txn.commit();
      rebuild_begun_ = true;
      spdlog::info("handler={} event=rebuild_started shadow={} requested_by={}", handler_.name,
                   rebuild::shadow_schema(handler_.name), options_.rebuild->requested_by);
    }
    rebuild::enter_shadow(target, handler_.name);
  }

  // The live lane has stopped and this one is at the head: the shadow takes the live model's place.
  void swap_in(pqxx::connection& target) {
    update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
    pqxx::work txn(target);
    const auto swapped = rebuild::swap(txn, handler_.name);
    if (!swapped) {
      txn.abort();
      spdlog::error("handler={} event=rebuild_failed action=abandoned error=\"{}\"", handler_.name, swapped.error());
      update([&](LaneStatus& s) { s.last_error = swapped.error(); });
      pqxx::work cleanup(target);
      rebuild::abandon(cleanup, handler_.name);
      cleanup.commit();
      return;
    }
    txn.commit();
    std::string tables;
    for (const std::string& table : *swapped) tables += (tables.empty() ? "" : ",") + table;
    spdlog::info("handler={} event=rebuild_swapped position={} tables={}", handler_.name, position_, tables);
    update([&](LaneStatus& s) {
      s.swapped = true;
      s.busy_since.reset();
    });
  }

  // Adds a chunk to the open multi-chunk transaction (opening it if needed). Any trouble of the events' own
  // rolls it back and marks the range for replay in one-chunk transactions, where poison events are isolated.
  void add_to_open(pqxx::connection& target, std::optional<OpenTransaction>& open,
                   std::vector<SourceRow>& rows, Position to, Clock::time_point read_started) {
    std::vector<Event> batch;
    batch.reserve(rows.size());
    for (SourceRow& row : rows) {
      if (const auto* poison = std::get_if<Undecodable>(&row.content)) return abandon(open, to, poison->error);
      Event& event = std::get<Event>(row.content);
      if (types_.accepts(event.type)) batch.push_back(std::move(event));
    }
    if (!open) {
      open = OpenTransaction{&target, folding_ ? nullptr : std::make_unique<pqxx::work>(target), read_started,
                             position_, 0, 0};
    }
    try {
      if (!batch.empty()) folding_ ? folding_->fold(batch) : projection_->apply(*open->txn, batch);
    } catch (const std::exception& error) {
      if (is_transient(error)) throw;
      return abandon(open, to, one_line(error.what()));
    }
    open->to = to;
    open->events += static_cast<std::int64_t>(batch.size());
  }

  // Commits the open transaction; a folding handler's is written in the background, and with `overlap` the
  // lane goes on reading meanwhile.
  void commit_open(std::optional<OpenTransaction>& open, bool overlap = false) {
    if (folding_) return write_in_background(open, overlap);
    try {
      projection_->flush(*open->txn);
      checkpoint_.advance(*open->txn, position_, open->to, open->events, source_->holes());
      open->txn->commit();
    } catch (const std::exception& error) {
      if (is_transient(error)) throw;
      return abandon(open, open->to, one_line(error.what()));
    }
    moved(open->to, open->events, open->started);
    open.reset();
  }

  void abandon(std::optional<OpenTransaction>& open, Position to, const std::string& error) {
    open.reset();  // rolls back
    replay_carefully(to, error);
  }

  // Up to `to`, the range after the checkpoint is replayed one chunk per transaction, where poison events are
  // isolated.
  void replay_carefully(Position to, const std::string& error) {
    careful_until_ = std::max(careful_until_, to);
    spdlog::warn("handler={} event=batch_failed from={} to={} retrying=small_transactions error=\"{}\"", handler_.name,
                 position_, to, error);
    projection_->discard();
  }

  // The sealed fold, the checkpoint's move and the commit run on a thread of their own, one transaction at a
  // time and in order: the previous one has committed before this one begins.
  void write_in_background(std::optional<OpenTransaction>& open, bool overlap) {
    finish_writing();
    auto write = [this, &target = *open->target, sealed = folding_->seal(), from = position_, to = open->to,
                  events = open->events, holes = source_->holes()] {
      pqxx::work txn(target);
      sealed->write(txn);
      checkpoint_.advance(txn, from, to, events, holes);
      txn.commit();
    };
    writing_ = Writing{std::async(std::launch::async, std::move(write)), open->to, open->events, open->started};
    open.reset();
    if (!overlap) finish_writing();
  }

  // Waits for the transaction being written in the background, if any. Every other use of the target
  // connection comes after this.
  void finish_writing() {
    if (!writing_) return;
    Writing writing = std::move(*writing_);
    writing_.reset();
    try {
      writing.done.get();
    } catch (const std::exception& error) {
      if (is_transient(error)) throw;
      replay_carefully(writing.to, one_line(error.what()));
      throw Rewind{};
    }
    moved(writing.to, writing.events, writing.started);
  }

  // An operator's calls on the dead letters (see Lane::dead_letters).
  void serve_letter_requests(pqxx::connection& target) {
    {
      std::lock_guard lock(status_mutex_);
      if (letter_requests_.empty()) return;
    }
    finish_writing();
    std::vector<LetterRequest> requests;
    {
      std::lock_guard lock(status_mutex_);
      requests.swap(letter_requests_);
    }
    for (const LetterRequest& request : requests) {
      for (const checkpoints::StoredLetter& letter : checkpoints::dead_letters_of(target, handler_.name, request.id)) {
        if (request.action == DeadLetterAction::drop) {
          pqxx::work txn(target);
          checkpoints::remove_dead_letter(txn, letter.id);
          txn.commit();
          spdlog::warn("handler={} event=dead_letter_dropped position={}", handler_.name, letter.position);
          continue;
        }
        retry_letter(target, letter);
      }
    }
  }

  void retry_letter(pqxx::connection& target, const checkpoints::StoredLetter& letter) {
    std::optional<SourceRow> row = source_->read_at(letter.position);
    std::string error = "the source no longer holds it";
    if (row) {
      if (const auto* poison = std::get_if<Undecodable>(&row->content)) {
        error = poison->error;
      } else {
        const Event event = std::move(std::get<Event>(row->content));
        try {
          pqxx::work txn(target);
          if (types_.accepts(event.type)) projection_->apply(txn, std::span(&event, 1));
          projection_->flush(txn);
          checkpoints::remove_dead_letter(txn, letter.id);
          txn.commit();
          spdlog::info("handler={} event=dead_letter_retried position={} outcome=applied", handler_.name,
                       letter.position);
          return;
        } catch (const std::exception& failure) {
          projection_->discard();
          if (is_transient(failure)) throw;
          error = one_line(failure.what());
        }
      }
    }
    spdlog::error("handler={} event=dead_letter_retried position={} outcome=failed error=\"{}\"", handler_.name,
                  letter.position, error);
    pqxx::work txn(target);
    checkpoints::retry_failed(txn, letter.id, error);
    txn.commit();
  }

  // Rows the source found in positions the lane passed as holes: each is applied now, out of order, and counted.
  void apply_late_rows(pqxx::connection& target) {
    bool holes_changed = false;
    std::vector<SourceRow> rows = source_->late_rows(holes_changed);
    if (rows.empty() && !holes_changed) return;
    finish_writing();
    batch_started_ = clock_.now();
    for (SourceRow& row : rows) {
      spdlog::warn("handler={} event=late_arrival position={} checkpoint={}", handler_.name, row.position, position_);
      update([&](LaneStatus& s) { ++s.late_arrivals; });
      std::vector<SourceRow> one;
      one.push_back(std::move(row));
      process(target, one, position_);
    }
    // Fewer holes to watch: stored with the checkpoint, which stays where it is.
    if (rows.empty() && holes_changed) apply_and_advance(target, {}, position_);
  }

  // Applies settled rows, moving the checkpoint to `to`. A row that could not be decoded splits the batch:
  // what came before it commits, it goes to the error policy, the rest continues.
  void process(pqxx::connection& target, std::vector<SourceRow>& rows, Position to) {
    finish_writing();
    std::vector<Event> batch;
    batch.reserve(rows.size());
    for (SourceRow& row : rows) {
      if (const auto* poison = std::get_if<Undecodable>(&row.content)) {
        commit_batch(target, batch, row.position - 1);
        batch.clear();
        update([&](LaneStatus& s) { ++s.failed_attempts; });
        give_up(target,
                {handler_.name, source_->name(), row.position, poison->stream_id, poison->type, poison->payload,
                 poison->error, 1},
                std::max(row.position, position_));  // a late arrival (below the checkpoint) moves nothing
        continue;
      }
      Event& event = std::get<Event>(row.content);
      if (types_.accepts(event.type)) batch.push_back(std::move(event));
    }
    commit_batch(target, batch, to);
  }

  // Applies a batch in one transaction. When it fails for a reason of its own (not the connection), the
  // batch is replayed event by event so that exactly the poison event meets the error policy.
  void commit_batch(pqxx::connection& target, std::span<const Event> batch, Position to) {
    if (to < position_ || (to == position_ && batch.empty())) return;
    if (batch.size() > 1) {
      try {
        apply_and_advance(target, batch, to);
        return;
      } catch (const std::exception& error) {
        if (is_transient(error)) throw;
        spdlog::warn("handler={} event=batch_failed from={} to={} events={} retrying=one_by_one error=\"{}\"",
                     handler_.name, position_, to, batch.size(), one_line(error.what()));
      }
    }
    if (batch.empty()) {
      apply_and_advance(target, batch, to);
      return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      apply_with_retries(target, batch.subspan(i, 1), i + 1 == batch.size() ? to : batch[i].position);
    }
  }

  void apply_and_advance(pqxx::connection& target, std::span<const Event> batch, Position to) {
    try {
      pqxx::work txn(target);
      if (!batch.empty()) projection_->apply(txn, batch);
      projection_->flush(txn);
      checkpoint_.advance(txn, position_, to, static_cast<std::int64_t>(batch.size()), source_->holes());
      txn.commit();
    } catch (...) {
      projection_->discard();
      throw;
    }
    moved(to, static_cast<std::int64_t>(batch.size()), batch_started_);
    batch_started_ = clock_.now();  // a batch split one by one: each later piece is timed from here
  }

  // After a commit that moved the checkpoint to `to` with `events` applied in a transaction begun at `started`.
  void moved(Position to, std::int64_t events, Clock::time_point started) {
    position_ = to;
    const double seconds = std::chrono::duration<double>(clock_.now() - started).count();
    update([&](LaneStatus& s) {
      s.position = to;
      s.events_applied += events;
      s.batch_sizes.observe(static_cast<double>(events));
      s.batch_seconds.observe(seconds);
    });
    projection_->committed(to);
    source_->committed(to);
    if (options_.on_checkpoint) options_.on_checkpoint(to);
  }

  void apply_with_retries(pqxx::connection& target, std::span<const Event> single, Position to) {
    Backoff retry(handler_.retry_backoff, handler_.retry_backoff_max);
    for (int attempt = 1;; ++attempt) {
      try {
        apply_and_advance(target, single, to);
        return;
      } catch (const std::exception& error) {
        if (is_transient(error)) throw;
        const Event& event = single.front();
        update([&](LaneStatus& s) { ++s.failed_attempts; });
        const auto* delivery = dynamic_cast<const handlers::DeliveryFailed*>(&error);
        if (attempt >= handler_.max_attempts || (delivery != nullptr && delivery->permanent)) {
          give_up(target,
                  {handler_.name, source_->name(), event.position, event.stream_id, event.type,
                   boost::json::serialize(event.data), one_line(error.what()), attempt},
                  to);
          return;
        }
        const auto delay = std::max(retry.next(), delivery != nullptr ? delivery->retry_after : config::Duration(0));
        spdlog::warn("handler={} event=apply_failed position={} attempt={} retry_in_ms={} error=\"{}\"", handler_.name,
                     event.position, attempt, delay.count(), one_line(error.what()));
        update([&](LaneStatus& s) { s.last_error = one_line(error.what()); });
        pause(delay);
      }
    }
  }

  // The poison-event policy, once an event has used up its attempts (or could not be decoded at all).
  void give_up(pqxx::connection& target, const checkpoints::DeadLetter& letter, Position to) {
    const std::string message = "handler " + handler_.name + " failed on source " + source_->name() + " position " +
                                std::to_string(letter.position) + " (" + letter.event_type + ") after " +
                                std::to_string(letter.attempts) + " attempt(s): " + letter.error;
    update([&](LaneStatus& s) { s.last_error = message; });
    // A rebuild replays history: an event the live handler gave up on (its policy or an operator's skip) is
    // given up on again instead of halting the replay where nobody would look.
    const bool given_up_before =
        options_.rebuild && checkpoints::is_dead_letter(target, handler_.name, letter.position);
    if (handler_.on_error == config::OnError::stop && !given_up_before && !control_.skip_requested(letter.position)) {
      halt(letter.position, message);
    }
    spdlog::error("handler={} event=dead_letter position={} error=\"{}\"", handler_.name, letter.position, message);
    const auto started = clock_.now();
    pqxx::work txn(target);
    checkpoints::record_dead_letter(txn, letter);
    checkpoint_.advance(txn, position_, to, 0, source_->holes());
    txn.commit();
    update([&](LaneStatus& s) { ++s.dead_letters; });
    moved(to, 0, started);
    control_.skipped(letter.position);
  }

  // on_error = "stop": the lane holds on the poison event (connections open, checkpoint before it) until an
  // operator skips it (returns: the caller dead-letters it), resumes (retry in a new session) or the daemon
  // stops. A one-shot run (exit_when_caught_up) ends instead.
  void halt(Position position, const std::string& message) {
    spdlog::error("handler={} event=halted position={} error=\"{}\"", handler_.name, position, message);
    update([&](LaneStatus& s) {
      s.halted_at = position;
      s.busy_since.reset();
    });
    set_state(LaneState::halted);
    if (options_.exit_when_caught_up) throw Halted{};
    const LaneControl::Verdict verdict = control_.wait_in_halt(position, stop_);
    update([&](LaneStatus& s) { s.halted_at = 0; });
    if (verdict == LaneControl::Verdict::stop) throw Stopping{};
    if (verdict == LaneControl::Verdict::retry) {
      set_state(LaneState::starting);  // until the new session has its checkpoint
      throw Resumed{};
    }
    spdlog::warn("handler={} event=skip position={} action=dead_letter", handler_.name, position);
  }

  // A retry delay that shutdown cuts short: the event in hand is left unapplied (its transaction rolled
  // back), so nothing is lost, and the lane stops.
  void pause(std::chrono::milliseconds delay) {
    sleep(delay);
    if (stop_.stop_requested()) throw Stopping{};
  }

  // Waits for `delay`, or less when shutdown is requested.
  void sleep(std::chrono::milliseconds delay) const {
    std::mutex mutex;
    std::unique_lock lock(mutex);
    std::condition_variable_any never_notified;
    never_notified.wait_for(lock, stop_, delay, [] { return false; });
  }

  template <class Change>
  void update(Change change) {
    std::lock_guard lock(status_mutex_);
    change(status_);
  }

  void set_state(LaneState state) {
    LaneState previous;
    {
      std::lock_guard lock(status_mutex_);
      previous = status_.state;
      status_.state = state;
    }
    if (previous == state) return;
    spdlog::info("handler={} event=state from={} to={} position={}", handler_.name, to_string(previous),
                 to_string(state), position_);
  }

  config::Handler handler_;
  std::unique_ptr<Source> source_;
  std::string target_url_;
  std::unique_ptr<handlers::ProjectionHandler> projection_;
  handlers::Folding* const folding_;  ///< projection_'s folding side, or null
  const Clock& clock_;
  LaneOptions options_;
  checkpoints::CheckpointStore checkpoint_;
  handlers::TypeFilter types_;
  Position position_ = 0;
  Position careful_until_ = 0;         ///< up to here, one chunk per transaction: a failure was seen in this range
  Clock::time_point batch_started_{};  ///< when the batch process() commits began (its read), for the histogram
  Position head_ = 0;                  ///< the highest head a read has seen
  bool under_writes_ = false;
  bool reader_indexes_pending_ = false;  ///< a build from position 0 has not caught up yet (see build_reader_indexes)
  bool cpu_yielded_ = false;           ///< runs at kRebuildNice (see yield_cpu_to_live_lanes)
  bool rebuild_begun_ = false;         ///< a fresh rebuild has cleared and recorded itself (once, not per session)
  Clock::time_point throttle_start_{};  ///< a throttled rebuild's rows are counted from here (its session's start)
  std::size_t throttled_rows_ = 0;
  ProgressWatch progress_;
  std::stop_token stop_;

  // A transaction being written in the background (see write_in_background): it moves the checkpoint to `to`.
  struct Writing {
    std::future<void> done;
    Position to;
    std::int64_t events;
    Clock::time_point started;
  };
  std::optional<Writing> writing_;
  // A future of std::async waits for its thread when destroyed: the session's connection outlives the write.
  struct ForgetWritingOnExit {
    std::optional<Writing>& writing;
    ~ForgetWritingOnExit() { writing.reset(); }
  };

  LaneControl control_;
  struct LetterRequest {
    DeadLetterAction action;
    std::optional<std::int64_t> id;
  };
  std::vector<LetterRequest> letter_requests_;  ///< guarded by status_mutex_

  mutable std::mutex status_mutex_;
  LaneStatus status_;
};

Lane::Lane(config::Handler handler, std::unique_ptr<Source> source, std::string target_url,
           std::unique_ptr<handlers::ProjectionHandler> projection, const Clock& clock, LaneOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(source), std::move(target_url), std::move(projection),
                                   clock, options)) {}

Lane::~Lane() = default;

void Lane::run(std::stop_token stop) { impl_->run(stop); }
LaneStatus Lane::status() const { return impl_->status(); }
const std::string& Lane::name() const { return impl_->name(); }
Result<void> Lane::pause() { return impl_->pause(); }
Result<void> Lane::resume() { return impl_->resume(); }
Result<Position> Lane::skip() { return impl_->skip(); }
void Lane::dead_letters(DeadLetterAction action, std::optional<std::int64_t> id) { impl_->dead_letters(action, id); }

}  // namespace projectord
