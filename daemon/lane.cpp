#include "daemon/lane.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <pqxx/nontransaction>

#include "checkpoints/checkpoint_store.hpp"
#include "checkpoints/dead_letters.hpp"
#include "base/backoff.hpp"
#include "base/postgres/errors.hpp"
#include "base/postgres/session.hpp"
#include "base/stoppable_sleep.hpp"
#include "daemon/lane/background_writer.hpp"
#include "daemon/lane/failure.hpp"
#include "daemon/lane/handler_lock.hpp"
#include "daemon/lane/poison_policy.hpp"
#include "daemon/lane/rebuild_mode.hpp"
#include "daemon/lane/rewind_guard.hpp"
#include "daemon/lane/status_board.hpp"
#include "daemon/lane_control.hpp"
#include "daemon/progress_watch.hpp"
#include "checkpoints/rebuilds.hpp"
#include "handlers/event_types.hpp"

namespace projectord {

namespace {

// How a session ends, when not by an error to reconnect after: what the lane's run does next. A step of the
// session that may end it returns one (nothing: the session goes on).
enum class SessionEnd {
  finished,  ///< stop requested, caught up (exit_when_caught_up), or swapped in: the run ends
  halted,    ///< on_error = "stop" gave up on an event in a one-shot run: the run ends, halted
  resumed,   ///< an operator resumed the halted lane: a new session (reconnect, re-read) retries the event
  rewind,    ///< a new session starts from the checkpoint as stored: a transaction written in the background
             ///< failed for a reason of its events' own (the lane had read and folded on past it, the range is
             ///< replayed carefully), the checkpoint was reset, or the source went backwards under it
};
using Step = std::optional<SessionEnd>;

// While catching up, one write transaction spans this many full reads (batch_size each): handlers that fold
// (users) write each row once per transaction, and there are fewer commits to wait for. Bounded so that a
// rollback loses little work and the folds' memory stays small: a folding handler holds two transactions'
// at once, one being written while the next is folded (in bench/catchup, 2 reads per transaction are as fast
// as 4 and keep peak RSS near 40 MB).
constexpr std::size_t kReadsPerTransaction = 2;

std::optional<RebuildMode> rebuild_mode(const std::string& handler, const LaneOptions& options) {
  if (!options.rebuild) return std::nullopt;
  return RebuildMode(handler, {options.rebuild->fresh, options.rebuild->requested_by, options.rebuild->max_rate});
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
        poison_(handler_),
        rebuild_(rebuild_mode(handler_.name, options_)),
        progress_(options_.progress_window),
        control_(handler_.name),
        board_(handler_.name),
        rewind_(handler_.name, *source_, checkpoint_, board_) {}

  void run(std::stop_token stop) {
    stop_ = stop;
    Backoff reconnect(std::chrono::milliseconds(100), std::chrono::seconds(30));
    while (!stop.stop_requested()) {
      SessionEnd end;
      try {
        update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
        end = session(stop, reconnect);
      } catch (const SourceRefused& refused) {
        refuse(refused.what());
        break;
      } catch (const std::exception& error) {
        const auto delay = reconnect.next();
        spdlog::error("handler={} source={} event=error retry_in_ms={} error=\"{}\"", handler_.name,
                      source_->name(), delay.count(), postgres::one_line(error.what()));
        update([&](LaneStatus& s) {
          s.last_error = postgres::one_line(error.what());
          ++s.reconnects;
        });
        set_state(LaneState::reconnecting);
        update([&](LaneStatus& s) { s.busy_since.reset(); });
        sleep_unless_stopped(delay, stop);
        continue;
      }
      if (end == SessionEnd::halted) return;
      if (end == SessionEnd::resumed) spdlog::info("handler={} event=resumed action=reconnecting", handler_.name);
      if (end == SessionEnd::finished) break;
      // resumed, rewind: a new session at once, nothing is wrong with the connection
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
    if (rebuild_) rebuild_->abandon(target_url_);
  }

  LaneStatus status() const { return board_.snapshot(); }

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
    letter_requests_.add(action, id);
    source_->wake();
  }

  Result<void> reset_checkpoint(Position to, std::string origin) {
    const LaneStatus now = status();
    if (now.state == LaneState::stopped) return fail("handler " + handler_.name + " has stopped");
    if (to > now.head) {
      return fail("handler " + handler_.name + ": position " + std::to_string(to) + " is beyond the source's head " +
                  std::to_string(now.head));
    }
    rewind_.request_reset(to, std::move(origin));
    source_->wake();
    return {};
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

  SessionEnd session(std::stop_token stop, Backoff& reconnect) {
    // Reads run in their own transactions while a write transaction may be open: the source has its own connection.
    pqxx::connection target(target_url_);
    // Declared after the connection: a transaction still being written on it ends before it closes.
    const ForgetWritingOnExit writing_ends_first{writer_, writing_};
    postgres::prepare_session(target, handler_.name);
    const bool locked = hold_handler_lock(target, handler_.name, checkpoint_.key(), stop, [&] {
      update([&](LaneStatus& s) {
        s.last_error = "standing by: another process runs handler " + handler_.name;
        s.busy_since.reset();
      });
    });
    if (!locked) return SessionEnd::finished;
    postgres::set_synchronous_commit(target, options_.synchronous_commit);
    if (rebuild_) rebuild_->enter(target);
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
    if (position_ > 0 && reader_indexes_pending_) {
      if (const Step end = build_reader_indexes(target)) return *end;
    }
    source_->open(handler_.name + ":read", std::move(loaded.holes));
    if (!rewind_.start(target, loaded, stop)) return SessionEnd::rewind;
    update([&](LaneStatus& s) { s.position = position_; });
    if (options_.on_checkpoint) options_.on_checkpoint(position_);
    reconnect.reset();
    spdlog::info("handler={} source={} event=connected checkpoint={} position={}", handler_.name,
                 source_->name(), checkpoint_.key(), position_);

    if (rebuild_) rebuild_->start_reading(clock_.now());
    std::optional<OpenTransaction> open;  // declared after the connections: destroyed (rolled back) first
    while (!stop.stop_requested()) {
      if (control_.pause_requested()) {
        if (open) {
          if (const Step end = commit_open(open)) return *end;
        }
        if (const Step end = finish_writing()) return *end;
        hold_while_paused(stop);
        continue;
      }
      update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
      const Position read_from = open ? open->to : writing_ ? writing_->to : position_;
      const auto read_started = clock_.now();
      SourceBatch batch = source_->read(read_from, read_limit(), stop);
      if (rewind_.went_back(batch, read_from)) return SessionEnd::rewind;
      head_ = batch.head;
      const bool blocked = batch.blocked;
      const bool truncated = batch.truncated;
      const bool progressed = batch.to > read_from;
      if (progressed) {
        if (open || (truncated && read_from >= careful_until_)) {
          add_to_open(target, open, batch.rows, batch.to, read_started);
        } else {
          batch_started_ = read_started;
          if (const Step end = process(target, batch.rows, batch.to)) return *end;
        }
      }
      if (open && (!truncated || ++open->reads >= reads_per_transaction())) {
        if (const Step end = commit_open(open, truncated)) return *end;
      }
      if (!truncated) {
        if (const Step end = finish_writing()) return *end;
      }
      if (!truncated && !open && reader_indexes_pending_) {
        if (const Step end = build_reader_indexes(target)) return *end;
      }
      if (!truncated && !open) rewind_.note_mark(target, position_);
      if (rebuild_ && rebuild_->throttled()) {
        if (const Step end = throttle(open, batch.rows.size())) return *end;
      }

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
        if (const Step end = apply_late_rows(target)) return *end;
        if (const Step end = serve_letter_requests(target)) return *end;
        if (rewind_.reset_requested()) {
          if (const Step end = finish_writing()) return *end;
          if (rewind_.serve_reset(target)) return SessionEnd::rewind;
        }
      }
      if (!blocked && !truncated && options_.exit_when_caught_up) return SessionEnd::finished;
      if (!blocked && !truncated && !open && rebuild_ && options_.rebuild->may_swap()) {
        swap_in(target);
        return SessionEnd::finished;
      }
      if (progressed && (truncated || !batch.rows.empty())) continue;
      update([&](LaneStatus& s) { s.busy_since.reset(); });
      source_->wait(blocked, stop);
    }
    if (open) {
      if (const Step end = commit_open(open)) return *end;
    }
    return finish_writing().value_or(SessionEnd::finished);
  }

  // The indexes for readers of the model (ProjectionHandler::reader_indexes): after a build from position 0
  // has caught up, or at once in a session that starts further on (all present: nothing to do). One index is
  // one unit of work for the watchdog and the stuck state, as a batch is.
  Step build_reader_indexes(pqxx::connection& target) {
    if (const Step end = finish_writing()) return end;
    const auto started = clock_.now();
    for (const handlers::ReaderIndex& index : projection_->reader_indexes()) {
      update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
      pqxx::nontransaction txn(target);
      handlers::create_reader_index(txn, index);
    }
    reader_indexes_pending_ = false;
    spdlog::info("handler={} event=reader_indexes_ready position={} ms={}", handler_.name, position_,
                 std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count());
    return std::nullopt;
  }

  std::size_t read_limit() {
    return rebuild_ ? rebuild_->read_limit(source_->batch_size(), source_->written_since_last_asked())
                    : source_->batch_size();
  }
  std::size_t reads_per_transaction() const {
    return rebuild_ && rebuild_->under_writes() ? 1 : kReadsPerTransaction;
  }

  // A throttled rebuild waits between transactions: an open one would hold back the snapshot horizon of every
  // lane on this database.
  Step throttle(std::optional<OpenTransaction>& open, std::size_t rows) {
    const Clock::time_point due = rebuild_->next_read_due(rows);
    if (due <= clock_.now()) return std::nullopt;
    if (open) {
      if (const Step end = commit_open(open)) return end;
    }
    if (const Step end = finish_writing()) return end;
    update([&](LaneStatus& s) { s.busy_since.reset(); });
    return wait_or_stop(std::chrono::ceil<std::chrono::milliseconds>(due - clock_.now()));
  }

  // The live lane has stopped and this one is at the head: the shadow takes the live model's place.
  void swap_in(pqxx::connection& target) {
    update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
    const Result<void> swapped = rebuild_->swap_in(target, position_);
    if (!swapped) {
      update([&](LaneStatus& s) { s.last_error = swapped.error(); });
      return;
    }
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
    } catch (const std::exception&) {
      const LaneFailure failure = judge_current_exception();
      if (failure.transient()) throw;
      return abandon(open, to, failure.message);
    }
    open->to = to;
    open->events += static_cast<std::int64_t>(batch.size());
  }

  // Commits the open transaction; a folding handler's is written in the background, and with `overlap` the
  // lane goes on reading meanwhile.
  Step commit_open(std::optional<OpenTransaction>& open, bool overlap = false) {
    if (folding_) return write_in_background(open, overlap);
    try {
      projection_->flush(*open->txn);
      checkpoint_.advance(*open->txn, position_, open->to, open->events, source_->holes());
      open->txn->commit();
    } catch (const std::exception&) {
      const LaneFailure failure = judge_current_exception();
      if (failure.transient()) throw;
      abandon(open, open->to, failure.message);
      return std::nullopt;
    }
    moved(open->to, open->events, open->started);
    open.reset();
    return std::nullopt;
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

  // The sealed fold, the checkpoint's move and the commit run on the lane's writer thread, one transaction at a
  // time and in order: the previous one has committed before this one begins.
  Step write_in_background(std::optional<OpenTransaction>& open, bool overlap) {
    if (const Step end = finish_writing()) return end;
    writing_ = Writing{folding_->seal(), open->to, open->events, open->started};
    writer_.start([this, &target = *open->target, sealed = writing_->sealed.get(), from = position_, to = open->to,
                   events = open->events, holes = source_->holes()] {
      pqxx::work txn(target);
      sealed->write(txn);
      checkpoint_.advance(txn, from, to, events, holes);
      txn.commit();
    });
    open.reset();
    if (!overlap) return finish_writing();
    return std::nullopt;
  }

  // Waits for the transaction being written in the background, if any. Every other use of the target
  // connection comes after this.
  Step finish_writing() {
    if (!writing_) return std::nullopt;
    const std::exception_ptr failed = writer_.wait();
    const Writing writing = std::move(*writing_);
    writing_.reset();
    if (failed) {
      try {
        std::rethrow_exception(failed);
      } catch (const std::exception&) {
        const LaneFailure failure = judge_current_exception();
        if (failure.transient()) throw;
        replay_carefully(writing.to, failure.message);
        return SessionEnd::rewind;
      }
    }
    moved(writing.to, writing.events, writing.started);
    return std::nullopt;
  }

  // An operator's calls on the dead letters (see Lane::dead_letters).
  Step serve_letter_requests(pqxx::connection& target) {
    if (letter_requests_.empty()) return std::nullopt;
    if (const Step end = finish_writing()) return end;
    serve({handler_.name, *source_, *projection_, types_}, target, letter_requests_.take());
    return std::nullopt;
  }

  // Rows the source found in positions the lane passed as holes: each is applied now, out of order, and counted.
  Step apply_late_rows(pqxx::connection& target) {
    bool holes_changed = false;
    std::vector<SourceRow> rows = source_->late_rows(holes_changed);
    if (rows.empty() && !holes_changed) return std::nullopt;
    if (const Step end = finish_writing()) return end;
    batch_started_ = clock_.now();
    for (SourceRow& row : rows) {
      spdlog::warn("handler={} event=late_arrival position={} checkpoint={}", handler_.name, row.position, position_);
      update([&](LaneStatus& s) { ++s.late_arrivals; });
      std::vector<SourceRow> one;
      one.push_back(std::move(row));
      if (const Step end = process(target, one, position_)) return end;
    }
    // Fewer holes to watch: stored with the checkpoint, which stays where it is.
    if (rows.empty() && holes_changed) apply_and_advance(target, {}, position_);
    return std::nullopt;
  }

  // Applies settled rows, moving the checkpoint to `to`. A row that could not be decoded splits the batch:
  // what came before it commits, it goes to the error policy, the rest continues.
  Step process(pqxx::connection& target, std::vector<SourceRow>& rows, Position to) {
    if (const Step end = finish_writing()) return end;
    std::vector<Event> batch;
    batch.reserve(rows.size());
    for (SourceRow& row : rows) {
      if (const auto* poison = std::get_if<Undecodable>(&row.content)) {
        if (const Step end = commit_batch(target, batch, row.position - 1)) return end;
        batch.clear();
        update([&](LaneStatus& s) { ++s.failed_attempts; });
        const Step end = give_up(target,
                                 {handler_.name, source_->name(), row.position, poison->stream_id, poison->type,
                                  poison->payload, poison->error, 1},
                                 std::max(row.position, position_));  // a late arrival (below the checkpoint) moves nothing
        if (end) return end;
        continue;
      }
      Event& event = std::get<Event>(row.content);
      if (types_.accepts(event.type)) batch.push_back(std::move(event));
    }
    return commit_batch(target, batch, to);
  }

  // Applies a batch in one transaction. When it fails for a reason of its own (not the connection), the
  // batch is replayed event by event so that exactly the poison event meets the error policy.
  Step commit_batch(pqxx::connection& target, std::span<const Event> batch, Position to) {
    if (to < position_ || (to == position_ && batch.empty())) return std::nullopt;
    if (batch.size() > 1) {
      try {
        apply_and_advance(target, batch, to);
        return std::nullopt;
      } catch (const std::exception&) {
        const LaneFailure failure = judge_current_exception();
        if (failure.transient()) throw;
        spdlog::warn("handler={} event=batch_failed from={} to={} events={} retrying=one_by_one error=\"{}\"",
                     handler_.name, position_, to, batch.size(), failure.message);
      }
    }
    if (batch.empty()) {
      apply_and_advance(target, batch, to);
      return std::nullopt;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Step end = apply_with_retries(target, batch.subspan(i, 1), i + 1 == batch.size() ? to : batch[i].position);
      if (end) return end;
    }
    return std::nullopt;
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

  Step apply_with_retries(pqxx::connection& target, std::span<const Event> single, Position to) {
    PoisonPolicy::Attempts attempts = poison_.attempts();
    while (true) {
      try {
        apply_and_advance(target, single, to);
        return std::nullopt;
      } catch (const std::exception&) {
        const LaneFailure failure = judge_current_exception();
        if (failure.transient()) throw;
        const Event& event = single.front();
        update([&](LaneStatus& s) { ++s.failed_attempts; });
        const std::optional<std::chrono::milliseconds> delay = attempts.after(failure);
        if (!delay) {
          return give_up(target,
                         {handler_.name, source_->name(), event.position, event.stream_id, event.type,
                          boost::json::serialize(event.data), failure.message, attempts.made()},
                         to);
        }
        spdlog::warn("handler={} event=apply_failed position={} attempt={} retry_in_ms={} error=\"{}\"", handler_.name,
                     event.position, attempts.made(), delay->count(), failure.message);
        if (const Step end = wait_to_retry(*delay, attempts.made(), failure.message)) return end;
      }
    }
  }

  // The poison-event policy, once an event has used up its attempts (or could not be decoded at all).
  Step give_up(pqxx::connection& target, const checkpoints::DeadLetter& letter, Position to) {
    const std::string message = PoisonPolicy::message(letter);
    update([&](LaneStatus& s) { s.last_error = message; });
    // A rebuild replays history: an event the live handler gave up on (its policy or an operator's skip) is
    // given up on again instead of halting the replay where nobody would look.
    const bool given_up_before =
        rebuild_ && checkpoints::is_dead_letter(target, handler_.name, letter.position);
    if (poison_.halts(given_up_before, control_.skip_requested(letter.position))) {
      if (const Step end = halt(letter.position, message)) return end;
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
    return std::nullopt;
  }

  // on_error = "stop": the lane holds on the poison event (connections open, checkpoint before it) until an
  // operator skips it (nothing: the caller dead-letters it), resumes (retry in a new session) or the daemon
  // stops. A one-shot run (exit_when_caught_up) ends instead.
  Step halt(Position position, const std::string& message) {
    spdlog::error("handler={} event=halted position={} error=\"{}\"", handler_.name, position, message);
    update([&](LaneStatus& s) {
      s.halted_at = position;
      s.busy_since.reset();
    });
    set_state(LaneState::halted);
    if (options_.exit_when_caught_up) return SessionEnd::halted;
    const LaneControl::Verdict verdict = control_.wait_in_halt(position, stop_);
    update([&](LaneStatus& s) { s.halted_at = 0; });
    if (verdict == LaneControl::Verdict::stop) return SessionEnd::finished;
    if (verdict == LaneControl::Verdict::retry) {
      set_state(LaneState::starting);  // until the new session has its checkpoint
      return SessionEnd::resumed;
    }
    spdlog::warn("handler={} event=skip position={} action=dead_letter", handler_.name, position);
    return std::nullopt;
  }

  // Between attempts the lane is retrying, not busy: a long backoff or Retry-After is no hung server to the
  // watchdog, and /status says what it waits for.
  Step wait_to_retry(std::chrono::milliseconds delay, int attempt, const std::string& error) {
    const LaneState was = board_.state();
    update([&](LaneStatus& s) {
      s.last_error = error;
      s.retry_attempt = attempt;
      s.retry_at = clock_.now() + delay;
      s.busy_since.reset();
    });
    set_state(LaneState::retrying);
    const Step end = wait_or_stop(delay);
    update([&](LaneStatus& s) {
      s.retry_at.reset();
      s.busy_since = clock_.now();
    });
    set_state(was);
    return end;
  }

  // A retry delay that shutdown cuts short: the event in hand is left unapplied (its transaction rolled
  // back), so nothing is lost, and the lane stops.
  Step wait_or_stop(std::chrono::milliseconds delay) {
    sleep_unless_stopped(delay, stop_);
    if (stop_.stop_requested()) return SessionEnd::finished;
    return std::nullopt;
  }

  template <class Change>
  void update(Change change) {
    board_.update(change);
  }

  void set_state(LaneState state) { board_.set_state(state, position_); }

  config::Handler handler_;
  std::unique_ptr<Source> source_;
  std::string target_url_;
  std::unique_ptr<handlers::ProjectionHandler> projection_;
  handlers::Folding* const folding_;  ///< projection_'s folding side, or null
  const Clock& clock_;
  LaneOptions options_;
  checkpoints::CheckpointStore checkpoint_;
  handlers::TypeFilter types_;
  PoisonPolicy poison_;
  std::optional<RebuildMode> rebuild_;  ///< a rebuild lane's own ways (LaneOptions::rebuild)
  Position position_ = 0;
  Position careful_until_ = 0;         ///< up to here, one chunk per transaction: a failure was seen in this range
  Clock::time_point batch_started_{};  ///< when the batch process() commits began (its read), for the histogram
  Position head_ = 0;                  ///< the source's head at the last read
  bool reader_indexes_pending_ = false;  ///< a build from position 0 has not caught up yet (see build_reader_indexes)
  ProgressWatch progress_;
  std::stop_token stop_;

  // A transaction being written in the background (see write_in_background): it moves the checkpoint to `to`.
  struct Writing {
    std::unique_ptr<handlers::SealedWrites> sealed;  ///< what the writer thread writes: kept until it is collected
    Position to;
    std::int64_t events;
    Clock::time_point started;
  };
  BackgroundWriter writer_;
  std::optional<Writing> writing_;
  // A session's write in flight ends, and is forgotten, before the session's connection closes.
  struct ForgetWritingOnExit {
    BackgroundWriter& writer;
    std::optional<Writing>& writing;
    ~ForgetWritingOnExit() {
      writer.wait();
      writing.reset();
    }
  };

  LaneControl control_;
  DeadLetterRequests letter_requests_;
  StatusBoard board_;
  RewindGuard rewind_;
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
Result<void> Lane::reset_checkpoint(Position to, std::string origin) {
  return impl_->reset_checkpoint(to, std::move(origin));
}

}  // namespace projectord
