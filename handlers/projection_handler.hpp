#pragma once
/// A projection handler writes a read model in PostgreSQL.
///
/// Contract: within one transaction of the caller's, `apply` receives one or more consecutive batches of
/// events in position order (already type-filtered for this handler), then `flush` once, then the caller
/// moves the handler's checkpoint in the same transaction and commits. The read model must end exactly as
/// applying the events one by one in that order would. A handler may write in `apply` or defer work to
/// `flush` (folding many events into fewer writes); it never commits. Any exception rolls the whole
/// transaction back, after which the caller calls `discard` and replays the range in smaller transactions,
/// down to one event, to isolate a poison event.
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/event.hpp"
#include "base/postgres/pooling.hpp"
#include "handlers/reader_index.hpp"

namespace projectord::handlers {

class AttemptLog;
class Folding;

/// One statement of a read model's DDL and the relation it creates. A lane runs it only where that relation
/// is missing from the schema an unqualified CREATE would use (see handlers/setup.hpp), so a daemon role
/// that may only write the tables runs no DDL on a model `projectord migrate` set up.
struct SetupStatement {
  std::string creates;  ///< the relation as SQL names it, e.g. postgres::quote_identifier(table); empty: unknown,
                        ///< the statement runs in every session
  std::string sql;      ///< idempotent (IF NOT EXISTS): migrate runs it whether or not the relation exists
};

class ProjectionHandler {
 public:
  virtual ~ProjectionHandler() = default;

  /// Idempotent DDL that creates the read model, each statement with the relation it creates (run by
  /// `projectord migrate`, and before a session's first batch where the relation is missing).
  virtual std::vector<SetupStatement> setup_sql() const = 0;

  /// Whether `on_connect` creates temporary tables: the daemon's role then needs TEMPORARY on the database
  /// (`projectord migrate --print-grants`).
  virtual bool uses_temp_tables() const { return false; }

  /// Indexes that only serve readers of the read model: not part of `setup_sql`, no constraint, nothing the
  /// handler's own writes look rows up by. A lane that starts at position 0 builds them once it has caught
  /// up, one sort per index instead of an entry per row written; a lane that starts further on builds any that are missing at once (create_reader_index: not
  /// where the table has an equivalent index already, such as one Django's migrations made).
  virtual std::vector<ReaderIndex> reader_indexes() const { return {}; }

  /// Columns of the read model whose values record how the events were written rather than what they say (an
  /// id drawn from a sequence, the time of the write), by table as `setup_sql` names it: `projectord verify`
  /// leaves them out when it compares a copy rebuilt from the events with the live tables.
  virtual std::map<std::string, std::set<std::string>> bookkeeping_columns() const { return {}; }

  /// Called once per (re)connection before the first batch: prepare statements, temp tables. `pooling` says
  /// what may outlive a transaction on `connection`: behind a transaction pooler nothing may, so statements go
  /// through a postgres::StatementSet (base/postgres/statement_set.hpp) and a temporary table is created
  /// ON COMMIT DROP in each transaction that uses it.
  virtual void on_connect(pqxx::connection& /*connection*/, postgres::Pooling /*pooling*/) {}

  virtual void apply(pqxx::work& txn, std::span<const Event> events) = 0;

  /// Writes what `apply` deferred; called once per transaction, before the checkpoint moves.
  virtual void flush(pqxx::work& /*txn*/) {}

  /// The transaction was rolled back (or the connection lost): forget what `apply` deferred.
  virtual void discard() {}

  /// The checkpoint moved to `position` and committed: everything up to it is done for good.
  virtual void committed(Position /*position*/) {}

  /// Called at the start of each session that holds the handler's lease, after the checkpoint is loaded. A
  /// handler whose work leaves the database (a side effect) records each delivery attempt in `log` before it
  /// sends, and counts those recorded before; `log` lasts as long as the session. A projection ignores it
  /// and pays nothing (its writes commit with its checkpoint).
  virtual void count_attempts_in(AttemptLog& /*log*/) {}

  /// A handler whose `apply` only folds events in memory offers this side of itself (see Folding).
  virtual Folding* folding() { return nullptr; }
};

/// What a folding handler gathered for one transaction, taken out of it by `Folding::seal`.
class SealedWrites {
 public:
  virtual ~SealedWrites() = default;
  /// Writes it in `txn` (never commits). Runs on another thread while the handler folds the next events.
  virtual void write(pqxx::work& txn) = 0;
};

/// A handler whose `apply` leaves its transaction untouched, writing everything in `flush`. During a catch-up
/// the lane folds one transaction's events while another thread writes the previous transaction's, so the
/// server writes while the lane reads and decodes, instead of the two taking turns. A transaction keeps
/// folding across reads until the fold holds half of `memory_budget` (two folds live at once: one being
/// written, the next being folded) or the source has no more, so a row touched all through a catch-up is
/// written once per half budget. The caller moves the checkpoint after `write` in the same transaction; when
/// that transaction fails it calls `discard` and replays the range, as with `apply`.
class Folding {
 public:
  virtual ~Folding() = default;
  /// What `apply` does, with no transaction open.
  virtual void fold(std::span<const Event> events) = 0;
  /// Bytes of memory held by what `fold` gathered since the last seal, flush or discard: an estimate, cheap
  /// enough to ask after every read.
  virtual std::size_t folded_bytes() const = 0;
  /// Bytes the folds of a catch-up may hold together, the one being written and the one being folded.
  virtual std::size_t memory_budget() const = 0;
  /// Takes what `fold` gathered since the last seal, flush or discard; the handler goes on empty.
  virtual std::unique_ptr<SealedWrites> seal() = 0;
};

/// What a handler may throw (from `apply`, `flush`, `fold` or `SealedWrites::write`) to say whose fault a
/// failure is instead of leaving the lane to judge by the exception's type. `transient`: nothing about the
/// event (a receiver that is down, a connection): the lane starts a new session and retries it forever, with
/// backoff, counting no attempt. `event`: this event's own: retried up to max_attempts, then on_error applies.
/// Any other exception is judged as the lane judges the server's errors (base/postgres/errors.hpp): transient
/// when the server calls it so, else the event's.
struct HandlerError : std::runtime_error {
  enum class Fault { transient, event };
  HandlerError(const std::string& what, Fault fault) : std::runtime_error(what), fault(fault) {}
  Fault fault;
};

/// An event's fault that says more: a side effect's receiver refused the event for good (no more attempts:
/// on_error applies now), or asked to be left alone for a while (Retry-After).
struct DeliveryFailed : HandlerError {
  DeliveryFailed(const std::string& what, bool permanent, std::chrono::milliseconds retry_after)
      : HandlerError(what, Fault::event), permanent(permanent), retry_after(retry_after) {}
  bool permanent;
  std::chrono::milliseconds retry_after;  ///< the least delay before the next attempt
};

}  // namespace projectord::handlers
