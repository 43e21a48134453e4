#include "daemon/lane.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "checkpoints/checkpoint_store.hpp"
#include "checkpoints/dead_letters.hpp"
#include "checkpoints/partitionings.hpp"
#include "checkpoints/tracking_table.hpp"
#include "base/backoff.hpp"
#include "base/postgres/errors.hpp"
#include "base/postgres/pipelined_commit.hpp"
#include "base/postgres/session.hpp"
#include "base/printable.hpp"
#include "base/stoppable_sleep.hpp"
#include "daemon/lane/attempt_journal.hpp"
#include "daemon/lane/catchup_transaction.hpp"
#include "daemon/lane/failure.hpp"
#include "daemon/lane/handler_lease.hpp"
#include "daemon/lane/lane_connections.hpp"
#include "daemon/lane/late_rows.hpp"
#include "daemon/lane/poison_policy.hpp"
#include "daemon/lane/reader_indexes.hpp"
#include "daemon/lane/rebuild_mode.hpp"
#include "daemon/lane/session_end.hpp"
#include "daemon/lane/rewind_guard.hpp"
#include "daemon/lane/status_board.hpp"
#include "daemon/lane_control.hpp"
#include "daemon/progress_watch.hpp"
#include "checkpoints/rebuilds.hpp"
#include "handlers/event_types.hpp"
#include "handlers/setup.hpp"

namespace projectord {

namespace {

// The start of last_error while another process runs the handler (daemon/error_class.hpp: "standby").
constexpr const char* kStandingBy = "standing by: another process runs handler ";

std::optional<RebuildMode> rebuild_mode(const config::Handler& handler, const LaneOptions& options) {
  if (!options.rebuild) return std::nullopt;
  const config::Partition whole{handler.name, 0, 1};
  const config::Partition& partition = handler.partition.value_or(whole);
  return RebuildMode(partition.handler, handler.name,
                     {options.rebuild->fresh, options.rebuild->requested_by, options.rebuild->max_rate,
                      checkpoints::tracking_table_of(handler), options.rebuild->cohort, partition.index,
                      partition.count});
}

// The handler's checkpoints were kept in another partition count than its config has, and it is a projection
// (checkpoints/partitionings.hpp): no retry mends that, the lane stops and says why.
struct CheckpointsRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The daemon stopped while the lane waited for connections. Not a std::exception: nothing on the way out
// judges it a failure of the work in hand.
struct StoppedWaitingForConnections {};

// The target's, then the source's database when it reads one (daemon/lane/lane_connections.hpp).
std::vector<std::string> connection_urls(const std::string& target_url, const Source& source) {
  std::vector<std::string> urls{target_url};
  if (std::optional<std::string> url = source.postgres_url()) urls.push_back(std::move(*url));
  return urls;
}

}  // namespace

class Lane::Impl {
 public:
  Impl(config::Handler handler, std::unique_ptr<Source> source, std::string target_url,
       std::unique_ptr<handlers::ProjectionHandler> projection, const Clock& clock, LeaseKeeper& leases,
       LaneOptions options)
      : handler_(std::move(handler)),
        source_(std::move(source)),
        target_url_(std::move(target_url)),
        projection_(std::move(projection)),
        clock_(clock),
        leases_(leases),
        options_(options),
        session_settings_(options_.pooling),
        connections_(options_.pool, handler_.name, connection_urls(target_url_, *source_),
                     [this] { source_->interrupt_wait(); }),
        checkpoint_(options_.rebuild ? rebuild::shadow_checkpoint(handler_.name) : handler_.name, source_->name(),
                    options_.rebuild ? std::nullopt : checkpoints::tracking_table_of(handler_)),
        types_(handler_.types),
        poison_(handler_),
        rebuild_(rebuild_mode(handler_, options_)),
        progress_(options_.progress_window),
        catchup_({handler_.name, *projection_, types_, checkpoint_, *source_, position_, session_settings_,
                  [this](Position to, std::int64_t events, Clock::time_point started) { moved(to, events, started); }}),
        reader_indexes_(handler_.name, projection_->reader_indexes()),
        control_(handler_.name),
        board_(handler_.name),
        late_rows_(handler_.name, *source_, board_),
        rewind_(handler_.name, *source_, checkpoint_, board_) {
    if (source_->postgres_url()) source_->read_on([this] { return held().reader(); });
  }

  void run(std::stop_token stop) {
    stop_ = stop;
    Backoff reconnect(std::chrono::milliseconds(100), std::chrono::seconds(30));
    while (!stop.stop_requested()) {
      SessionEnd end;
      try {
        update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
        end = session(stop, reconnect);
      } catch (const StoppedWaitingForConnections&) {
        break;
      } catch (const SourceRefused& refused) {
        connections_.discard();
        refuse(refused.what());
        break;
      } catch (const CheckpointsRefused& refused) {
        connections_.discard();
        refuse(refused.what());
        break;
      } catch (const std::exception& error) {
        connections_.discard();
        if (postgres::is_setup_problem(error)) {
          stop_for_setup(postgres::setup_hint(error, role_));
          break;
        }
        const auto delay = reconnect.next();
        spdlog::error("handler={} source={} event=error retry_in_ms={} error={}", handler_.name,
                      source_->name(), delay.count(), log_value(postgres::error_text(error)));
        update([&](LaneStatus& s) {
          s.last_error = postgres::error_text(error);
          ++s.reconnects;
        });
        set_state(LaneState::reconnecting);
        update([&](LaneStatus& s) { s.busy_since.reset(); });
        sleep_unless_stopped(delay, stop);
        continue;
      }
      if (end == SessionEnd::halted) {
        connections_.give_back();
        return;
      }
      if (end == SessionEnd::resumed) spdlog::info("handler={} event=resumed action=reconnecting", handler_.name);
      if (end == SessionEnd::finished) break;
      // resumed, rewind, handed_over: a new session at once, nothing is wrong with the connections
    }
    connections_.give_back();
    set_state(LaneState::stopped);
  }

  // The source cannot serve this lane as configured: it ends, saying why; a rebuild drops its shadow (the
  // live read model goes on untouched).
  void refuse(const std::string& why) {
    spdlog::error("handler={} source={} event=refused error={}", handler_.name, source_->name(), log_value(why));
    update([&](LaneStatus& s) {
      s.last_error = why;
      s.busy_since.reset();
    });
    if (rebuild_) rebuild_->abandon(target_getter());
  }

  // A privilege or an object is missing: no retry mends that until an operator grants or migrates, and the
  // lane ends saying what to run; the other lanes go on. The daemon's next start (or a reload that changes
  // the handler) runs it again.
  void stop_for_setup(const std::string& why) {
    spdlog::error("handler={} source={} event=stopped reason=setup error={}", handler_.name, source_->name(),
                  log_value(why));
    update([&](LaneStatus& s) {
      s.last_error = why;
      s.busy_since.reset();
    });
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
  // The connections the lane works on, borrowed again if it gave them back; /status says when work waits for
  // them (an idle lane looking for news is still idle).
  LaneConnections& held() {
    if (connections_.held()) return connections_;
    const LaneState was = board_.state();
    const bool busy = status().busy_since.has_value();
    bool waited = false;
    const bool held = connections_.hold(stop_, [&] {
      waited = true;
      // Waiting is not being busy: the watchdog and the stuck state look at the work, not the turn.
      update([&](LaneStatus& s) { s.busy_since.reset(); });
      if (was != LaneState::idle) set_state(LaneState::waiting_for_connection);
    });
    if (!held) throw StoppedWaitingForConnections{};
    if (waited) {
      set_state(was);
      if (busy) update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
    }
    return connections_;
  }

  // The target connection, set up for the lane whenever the pool lent it one it had not (new, or reset after
  // another lane's use). Named for the lease: a process that takes the lease over ends what it left open.
  pqxx::connection& target() {
    const postgres::Lent lent = held().target();
    if (lent.session != target_session_) {
      postgres::prepare_session(lent.connection, checkpoint_.key());
      session_settings_.apply(lent.connection);
      if (statements_prepared_) prepare_statements(lent.connection);
      target_session_ = lent.session;
    }
    return lent.connection;
  }

  std::function<pqxx::connection&()> target_getter() {
    return [this]() -> pqxx::connection& { return target(); };
  }

  // What the handler and the checkpoint send by name (base/postgres/statement_set.hpp), once its tables exist.
  void prepare_statements(pqxx::connection& connection) {
    projection_->discard();
    projection_->on_connect(connection, options_.pooling);
    checkpoint_.prepare(connection, options_.pooling);
  }

  // Holds the lane, between transactions, until it is resumed or the daemon stops.
  void hold_while_paused(std::stop_token stop) {
    connections_.give_back();
    set_state(LaneState::paused);
    update([&](LaneStatus& s) { s.busy_since.reset(); });
    control_.wait_while_paused(stop);
  }

  SessionEnd session(std::stop_token stop, Backoff& reconnect) {
    statements_prepared_ = false;
    session_settings_.reset();
    role_ = target().username();
    // The transactions open or being written on the target end before the session does (and before the
    // connections can be given back or closed).
    const CatchupTransaction::Session transactions_end_first = catchup_.begin_session(target_getter());
    const std::unique_ptr<HandlerLease> lease =
        HandlerLease::take(target_getter(), leases_, handler_.name, checkpoint_.key(), lease_listener(), stop);
    if (!lease) return SessionEnd::finished;
    checkpoint_.fence(lease->epoch());
    update([&](LaneStatus& s) {
      if (s.last_error.starts_with(kStandingBy)) s.last_error.clear();
      const checkpoints::LeaseOwner& me = leases_.owner();
      s.ownership = LaneOwnership{true, me.host, me.pid, lease->epoch(), lease->since(), {}};
    });
    const SessionEnd end = leased_session(*lease, stop, reconnect);
    // This process is done with the handler: a standby takes it over at once. A new session takes it again
    // (after a hand-over, only once the process it went to has had its chance).
    if (end == SessionEnd::finished || end == SessionEnd::halted) lease->release_at_end();
    if (end == SessionEnd::handed_over) lease->release_now(target());
    return end;
  }

  HandlerLease::Listener lease_listener() {
    return {.standing_by =
                [this](const checkpoints::LeaseHolder& holder) {
                  // The owner's checkpoint, as of each ask: /status shows it, and a /wait on this process
                  // completes within a renew interval of the owner's commit.
                  const Position owners = checkpoints::stored_position(target(), checkpoint_.key()).value_or(0);
                  connections_.give_back();  // a standby holds none between its asks
                  update([&](LaneStatus& s) {
                    s.last_error = kStandingBy + handler_.name;
                    s.busy_since.reset();
                    s.position = owners;
                    s.ownership = LaneOwnership{false, holder.host, holder.pid, holder.epoch, holder.since, {}};
                  });
                  if (options_.on_checkpoint) options_.on_checkpoint(owners);
                },
            .renewed =
                [this](const std::vector<checkpoints::LeaseStandby>& standbys) {
                  update([&](LaneStatus& s) {
                    if (!s.ownership) return;
                    s.ownership->standbys.clear();
                    for (const auto& standby : standbys) {
                      s.ownership->standbys.push_back({standby.host, standby.pid, standby.since});
                    }
                  });
                },
            .ended = [this] { source_->wake(); }};
  }

  SessionEnd leased_session(const HandlerLease& lease, std::stop_token stop, Backoff& reconnect) {
    session_settings_.set(target(), "synchronous_commit", options_.synchronous_commit);
    if (rebuild_) rebuild_->enter(target(), session_settings_);
    {
      pqxx::work setup(target());
      session_settings_.begin(setup);
      handlers::create_missing(setup, projection_->setup_sql());
      setup.commit();
    }
    if (!rebuild_) adopt_partitioning();
    prepare_statements(target());
    statements_prepared_ = true;
    // `start = "head"`: a side effect without a checkpoint is created at the source's head, in one statement,
    // so that no crash leaves it at the beginning. The source opens first for that; a new row has no holes.
    const bool opened_at_head = handler_.start_at_head && !rebuild_ && !checkpoint_.exists(target());
    if (opened_at_head) source_->open(handler_.name + ":read", {});
    checkpoints::Checkpoint loaded = checkpoint_.load(target(), opened_at_head ? source_->head() : 0);
    position_ = loaded.position;
    // A side effect's attempts recorded by earlier sessions (of this process or another) count in this one.
    AttemptJournal attempts(connections_, checkpoint_.key(), lease.epoch());
    projection_->count_attempts_in(attempts);
    if (opened_at_head) spdlog::info("handler={} event=started_at_head position={}", handler_.name, position_);
    if (loaded.behind_tracking) {
      spdlog::info("handler={} event=checkpoint_from_tracking table={} from={} to={}", handler_.name,
                   handler_.tracking_table, *loaded.behind_tracking, position_);
    }
    if (reader_indexes_.start_session(position_)) {
      if (const Step end = build_reader_indexes()) return *end;
    }
    if (!opened_at_head) source_->open(handler_.name + ":read", std::move(loaded.holes));
    source_->sole_owner();  // the lease is held
    if (!rewind_.start(target(), loaded, stop)) return SessionEnd::rewind;
    update([&](LaneStatus& s) { s.position = position_; });
    if (options_.on_checkpoint) options_.on_checkpoint(position_);
    reconnect.reset();
    spdlog::info("handler={} source={} event=connected checkpoint={} position={}", handler_.name,
                 source_->name(), checkpoint_.key(), position_);

    if (rebuild_) rebuild_->start_reading(clock_.now());
    while (!stop.stop_requested()) {
      // Another process took the handler over: this session ends, rolling back what is open, and the next
      // one stands by.
      if (lease.lost()) throw checkpoints::LeaseLost("handler " + handler_.name + ": lost its lease to another process");
      // The spread gives the handler to a process below its share: at this transaction boundary, with what is
      // open committed.
      if (lease.handing_over()) {
        if (const Step end = catchup_.close()) return *end;
        spdlog::info("handler={} event=handed_over position={}", handler_.name, position_);
        return SessionEnd::handed_over;
      }
      if (control_.pause_requested()) {
        if (const Step end = catchup_.close()) return *end;
        hold_while_paused(stop);
        continue;
      }
      update([&](LaneStatus& s) { s.busy_since = clock_.now(); });
      const Position read_from = catchup_.read_from();
      const auto read_started = clock_.now();
      SourceBatch batch = source_->read(read_from, read_limit(), stop);
      if (rewind_.went_back(batch, read_from)) return SessionEnd::rewind;
      head_ = batch.head;
      update([&](LaneStatus& s) { s.head = head_; });  // /status shows it while the batch is applied or retried
      const bool blocked = batch.blocked;
      const bool truncated = batch.truncated;
      const bool progressed = batch.to > read_from;
      if (progressed) {
        if (catchup_.takes(read_from, truncated)) {
          catchup_.add(batch.rows, batch.to, read_started);
        } else {
          batch_started_ = read_started;
          if (const Step end = process(batch.rows, batch.to)) return *end;
        }
      }
      if (const Step end = catchup_.after_read(truncated, rebuild_ && rebuild_->under_writes())) return *end;
      if (!truncated && !catchup_.open() && reader_indexes_.due_once_caught_up()) {
        if (const Step end = build_reader_indexes()) return *end;
      }
      if (!truncated && !catchup_.open()) rewind_.note_mark(target(), position_, clock_.now());
      if (rebuild_ && rebuild_->throttled()) {
        if (const Step end = throttle(batch.rows.size())) return *end;
      }

      const LaneState waiting = batch.waits_for == SourceBatch::Wait::other_reader ? LaneState::waiting_for_consumer
                                                                                   : LaneState::waiting_for_hole;
      set_state(blocked ? waiting : truncated ? LaneState::catching_up : LaneState::idle);
      // A folding catch-up commits once per fold budget: what it has read and folded is its progress.
      progress_.observe(clock_.now(), catchup_.read_from(), head_);
      update([&](LaneStatus& s) {
        s.head = head_;
        s.behind_since = progress_.behind_since();
        s.last_progress = progress_.last_progress();
        s.lag_growing = progress_.lag_growing();
        const Source::Diagnostics diagnostics = source_->diagnostics();
        s.open_holes = diagnostics.open_holes;
        s.forced_hole_skips = diagnostics.forced_hole_skips;
        s.shared_reads = diagnostics.shared_reads;
        s.oldest_hole_wait = diagnostics.oldest_hole_wait;
        s.blocking_xmin = diagnostics.blocking_xmin;
        s.lag_events = diagnostics.lag_events;
      });
      // Between transactions only: a late arrival, or a retried dead letter, commits in a transaction of its own.
      if (!catchup_.open()) {
        if (const Step end = apply_late_rows()) return *end;
        if (const Step end = serve_letter_requests()) return *end;
        if (rewind_.reset_requested()) {
          if (const Step end = catchup_.finish_writing()) return *end;
          if (rewind_.serve_reset(target())) return SessionEnd::rewind;
        }
      }
      if (!blocked && !truncated && options_.exit_when_caught_up) return SessionEnd::finished;
      // A hole still waiting for its insert's commit travels in the checkpoint the swap hands over, so it does
      // not hold the swap back: under steady out-of-order writers one is nearly always in flight. But the
      // rebuild must have passed the stopped live lane's checkpoint (or the head, below it in a source that
      // went backwards): a rebuild held at a hole the live lane had long passed (ids a sequence skipped, still
      // within hole_grace) would swap in a model behind it.
      if (!truncated && !catchup_.open() && rebuild_ && options_.rebuild->may_swap() &&
          rebuild_->reached_live(target(), position_, head_)) {
        swap_in();
        return SessionEnd::finished;
      }
      if (progressed && (truncated || !batch.rows.empty())) continue;
      update([&](LaneStatus& s) { s.busy_since.reset(); });
      if (catchup_.quiet() && connections_.asked_for()) connections_.give_back();
      source_->wait(blocked, stop);
    }
    return catchup_.close().value_or(SessionEnd::finished);
  }

  // The checkpoints of a handler whose partition count changed (checkpoints/partitionings.hpp).
  void adopt_partitioning() {
    pqxx::work txn(target());
    session_settings_.begin(txn);
    if (const Result<void> adopted = checkpoints::adopt_partitioning(txn, handler_); !adopted) {
      throw CheckpointsRefused(adopted.error());
    }
    txn.commit();
  }

  // One index is one unit of work for the watchdog and the stuck state, as a batch is.
  Step build_reader_indexes() {
    if (const Step end = catchup_.finish_writing()) return end;
    reader_indexes_.build(target(), position_, clock_,
                          [&] { update([&](LaneStatus& s) { s.busy_since = clock_.now(); }); });
    return std::nullopt;
  }

  std::size_t read_limit() {
    return rebuild_ ? rebuild_->read_limit(source_->batch_size(), source_->written_since_last_asked())
                    : source_->batch_size();
  }

  // A throttled rebuild waits between transactions: an open one would hold back the snapshot horizon of every
  // lane on this database.
  Step throttle(std::size_t rows) {
    const Clock::time_point due = rebuild_->next_read_due(rows);
    if (due <= clock_.now()) return std::nullopt;
    if (const Step end = catchup_.close()) return end;
    update([&](LaneStatus& s) { s.busy_since.reset(); });
    if (connections_.asked_for()) connections_.give_back();
    return wait_or_stop(std::chrono::ceil<std::chrono::milliseconds>(due - clock_.now()));
  }

  // The live lane has stopped and this one is at the head: the shadow takes the live model's place, once the
  // other partitions' rebuild lanes are there too.
  void swap_in() {
    update([&](LaneStatus& s) { s.busy_since.reset(); });
    connections_.give_back();  // while it waits for the other partitions, which may need them
    const std::optional<Result<void>> swapped = rebuild_->swap_in(target_getter(), position_, stop_);
    if (!swapped) return;
    if (!*swapped) {
      update([&](LaneStatus& s) { s.last_error = swapped->error(); });
      return;
    }
    update([&](LaneStatus& s) {
      s.swapped = true;
      s.busy_since.reset();
    });
  }

  // An operator's calls on the dead letters (see Lane::dead_letters).
  Step serve_letter_requests() {
    if (letter_requests_.empty()) return std::nullopt;
    if (const Step end = catchup_.finish_writing()) return end;
    serve({handler_.name, *source_, *projection_, types_}, target(), letter_requests_.take());
    return std::nullopt;
  }

  Step apply_late_rows() {
    return late_rows_.apply(position_, {[&] {
                                          batch_started_ = clock_.now();
                                          return catchup_.finish_writing();
                                        },
                                        [&](std::vector<SourceRow>& one) { return process(one, position_); },
                                        [&] { apply_and_advance({}, position_); }});
  }

  // Applies settled rows, moving the checkpoint to `to`. A row that could not be decoded splits the batch:
  // what came before it commits, it goes to the error policy, the rest continues.
  Step process(std::vector<SourceRow>& rows, Position to) {
    if (const Step end = catchup_.finish_writing()) return end;
    std::vector<Event> batch;
    batch.reserve(rows.size());
    for (SourceRow& row : rows) {
      if (const auto* poison = std::get_if<Undecodable>(&row.content)) {
        if (const Step end = commit_batch(batch, row.position - 1)) return end;
        batch.clear();
        update([&](LaneStatus& s) { ++s.failed_attempts; });
        const Step end = give_up(
                                 {handler_.name, source_->name(), row.position, poison->stream_id, poison->type,
                                  poison->payload, poison->error, 1},
                                 std::max(row.position, position_));  // a late arrival (below the checkpoint) moves nothing
        if (end) return end;
        continue;
      }
      Event& event = std::get<Event>(row.content);
      if (types_.accepts(event.type)) batch.push_back(std::move(event));
    }
    return commit_batch(batch, to);
  }

  // Applies a batch in one transaction. When it fails for a reason of its own (not the connection), the
  // batch is replayed event by event so that exactly the poison event meets the error policy.
  Step commit_batch(std::span<const Event> batch, Position to) {
    if (to < position_ || (to == position_ && batch.empty())) return std::nullopt;
    if (batch.size() > 1) {
      try {
        apply_and_advance(batch, to);
        return std::nullopt;
      } catch (const std::exception&) {
        const LaneFailure failure = judge_current_exception();
        if (failure.transient()) throw;
        spdlog::warn("handler={} event=batch_failed from={} to={} events={} retrying=one_by_one error={}",
                     handler_.name, position_, to, batch.size(), log_value(failure.message));
      }
    }
    if (batch.empty()) {
      apply_and_advance(batch, to);
      return std::nullopt;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Step end = apply_with_retries(batch.subspan(i, 1), i + 1 == batch.size() ? to : batch[i].position);
      if (end) return end;
    }
    return std::nullopt;
  }

  void apply_and_advance(std::span<const Event> batch, Position to) {
    try {
      postgres::PipelinedCommit txn(target());
      session_settings_.begin(txn);
      if (!batch.empty()) projection_->apply(txn, batch);
      projection_->flush(txn);
      checkpoint_.commit_advance(txn, position_, to, static_cast<std::int64_t>(batch.size()), source_->holes());
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

  Step apply_with_retries(std::span<const Event> single, Position to) {
    PoisonPolicy::Attempts attempts = poison_.attempts();
    while (true) {
      try {
        apply_and_advance(single, to);
        return std::nullopt;
      } catch (const std::exception&) {
        const LaneFailure failure = judge_current_exception();
        if (failure.transient()) throw;
        const Event& event = single.front();
        update([&](LaneStatus& s) { ++s.failed_attempts; });
        const std::optional<std::chrono::milliseconds> delay = attempts.after(failure);
        if (!delay) {
          return give_up(
                         {handler_.name, source_->name(), event.position, event.stream_id, event.type,
                          boost::json::serialize(event.data), failure.message, attempts.made()},
                         to);
        }
        spdlog::warn("handler={} event=apply_failed position={} attempt={} retry_in_ms={} error={}", handler_.name,
                     event.position, attempts.made(), delay->count(), log_value(failure.message));
        if (const Step end = wait_to_retry(*delay, attempts.made(), failure.message)) return end;
      }
    }
  }

  // The poison-event policy, once an event has used up its attempts (or could not be decoded at all).
  Step give_up(const checkpoints::DeadLetter& letter, Position to) {
    const std::string message = PoisonPolicy::message(letter);
    update([&](LaneStatus& s) { s.last_error = message; });
    // A rebuild replays history: an event the live handler gave up on (its policy or an operator's skip) is
    // given up on again instead of halting the replay where nobody would look.
    const bool given_up_before =
        rebuild_ && checkpoints::is_dead_letter(target(), handler_.name, letter.position);
    if (poison_.halts(given_up_before, control_.skip_requested(letter.position))) {
      if (const Step end = halt(letter.position, message)) return end;
    }
    spdlog::error("handler={} event=dead_letter position={} error={}", handler_.name, letter.position,
                  log_value(message));
    const auto started = clock_.now();
    postgres::PipelinedCommit txn(target());
    session_settings_.begin(txn);
    checkpoints::record_dead_letter(txn, letter);
    checkpoint_.commit_advance(txn, position_, to, 0, source_->holes());
    update([&](LaneStatus& s) { ++s.dead_letters; });
    moved(to, 0, started);
    control_.skipped(letter.position);
    return std::nullopt;
  }

  // on_error = "stop": the lane holds on the poison event (connections open, checkpoint before it) until an
  // operator skips it (nothing: the caller dead-letters it), resumes (retry in a new session) or the daemon
  // stops. A one-shot run (exit_when_caught_up) ends instead.
  Step halt(Position position, const std::string& message) {
    spdlog::error("handler={} event=halted position={} error={}", handler_.name, position, log_value(message));
    update([&](LaneStatus& s) {
      s.halted_at = position;
      s.busy_since.reset();
    });
    set_state(LaneState::halted);
    if (options_.exit_when_caught_up) return SessionEnd::halted;
    connections_.give_back();
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
    connections_.give_back();
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
  const Clock& clock_;
  LeaseKeeper& leases_;
  LaneOptions options_;
  /// synchronous_commit, and a rebuild's search_path: what each of the target's transactions begins with
  postgres::SessionSettings session_settings_;
  LaneConnections connections_;
  std::uint64_t target_session_ = 0;  ///< the lent session the target is set up on (postgres::Lent)
  bool statements_prepared_ = false;  ///< this session's handler tables exist and its statements are prepared
  checkpoints::CheckpointStore checkpoint_;
  handlers::TypeFilter types_;
  PoisonPolicy poison_;
  std::optional<RebuildMode> rebuild_;  ///< a rebuild lane's own ways (LaneOptions::rebuild)
  Position position_ = 0;
  Clock::time_point batch_started_{};  ///< when the batch process() commits began (its read), for the histogram
  Position head_ = 0;                  ///< the source's head at the last read
  ProgressWatch progress_;
  std::stop_token stop_;
  std::string role_;  ///< the role the target connection logs in as, for the GRANTs a setup problem needs

  CatchupTransaction catchup_;
  ReaderIndexes reader_indexes_;
  LaneControl control_;
  DeadLetterRequests letter_requests_;
  StatusBoard board_;
  LateRows late_rows_;
  RewindGuard rewind_;
};

Lane::Lane(config::Handler handler, std::unique_ptr<Source> source, std::string target_url,
           std::unique_ptr<handlers::ProjectionHandler> projection, const Clock& clock, LeaseKeeper& leases,
           LaneOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(source), std::move(target_url), std::move(projection),
                                   clock, leases, options)) {}

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
