#pragma once
/// `projectord migrate --add-position SOURCE`: gives an event table that has no global position (Eventuali's
/// `events`, keyed by UUID) the identity column its source's `position_column` names, so that projectord can
/// tail it like any unlocked store, without touching the writers (their INSERTs name their columns) and
/// without holding a lock that stops them for longer than a catalog change.
///
/// Contract: every step is idempotent and is skipped when the catalog shows it done, so a run that was
/// interrupted (killed, a lost connection) is resumed by running the command again. The steps, in order:
///  1. add the column (nullable, no default: a catalog change) and a sequence starting above every row the
///     table holds now, set as the column's default: rows written from here on are numbered at insert;
///  2. plan: number the rows that have no position yet in recorded-at order, each stream's rows in version
///     order, into a plan table beside it, TABLE_position_plan (one read of the table, one transaction);
///  3. backfill the plan in batches of `batch_rows` rows, one short transaction each (row locks only),
///     printing progress;
///  4. build the unique index on the column CONCURRENTLY (writers go on);
///  5. make the column NOT NULL through a CHECK constraint validated without an exclusive lock;
///  6. replace the default by GENERATED ALWAYS AS IDENTITY continuing the sequence, in one short transaction,
///     and drop the sequence and the plan.
/// The short exclusive locks (steps 1, 5, 6) are taken with a lock_timeout and retried, so a long transaction
/// on the table delays the command instead of queueing every writer behind it. The source needs a stream id,
/// a version and a recorded-at column to order the rows, and the table a one-column primary key. Progress
/// goes to `out`, errors to `err`; the return value is the exit code.
#include <cstddef>
#include <ostream>

#include "config/config.hpp"

namespace projectord::cli {

int add_position(const config::PostgresSource& source, std::size_t batch_rows, std::ostream& out,
                 std::ostream& err);

}  // namespace projectord::cli
