#pragma once
/// `projectord migrate --add-position SOURCE`: gives an event table that has no global position (Eventuali's
/// `events`, keyed by UUID) the identity column its source's `position_column` names, so that projectord can
/// tail it like any unlocked store, without touching the writers (their INSERTs name their columns) and
/// without holding a lock that stops them for longer than a catalog change. A django_event_tables source's
/// tables (one per event type) get the column each, drawn from one sequence they share, which stays their
/// default: an identity column cannot be shared.
///
/// Contract: every step is idempotent and is skipped when the catalog shows it done, so a run that was
/// interrupted (killed, a lost connection) is resumed by running the command again. The steps, in order:
///  1. add the column to every table (nullable, no default: a catalog change) and one sequence, named after
///     the first table, starting above every row the tables hold now, set as the column's default: rows
///     written from here on are numbered at insert;
///  2. plan: number the rows that have no position yet in recorded-at order into a plan table beside the
///     first table, TABLE_position_plan (one read of each table, one transaction): one table's rows with
///     each stream's rows in version order; several tables' rows with ties in table order, then key order;
///  3. backfill the plan in batches of `batch_rows` rows, one short transaction each (row locks only),
///     printing progress;
///  4. build each table's unique index on the column CONCURRENTLY (writers go on);
///  5. make each table's column NOT NULL through a CHECK constraint validated without an exclusive lock;
///  6. one table: replace the default by GENERATED ALWAYS AS IDENTITY continuing the sequence, in one short
///     transaction, and drop the sequence; several: keep the sequence as the default. The plan goes.
/// The short exclusive locks (steps 1, 5, 6) are taken with a lock_timeout and retried, so a long transaction
/// on a table delays the command instead of queueing every writer behind it. A one-table source needs a
/// stream id, a version and a recorded-at column to order the rows, a django_event_tables source a
/// recorded-at column; every table needs a one-column primary key. Progress goes to `out`, errors to `err`;
/// the return value is the exit code.
#include <cstddef>
#include <ostream>

#include "config/config.hpp"

namespace projectord::cli {

int add_position(const config::PostgresSource& source, std::size_t batch_rows, std::ostream& out,
                 std::ostream& err);

}  // namespace projectord::cli
