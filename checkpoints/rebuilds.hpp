#pragma once
/// Blue/green rebuilds of a projection's read model.
///
/// A rebuild lane runs the handler's setup in a shadow schema (`projectord_r_NAME`, first on its connection's
/// search_path, so the handler's unqualified tables resolve there) and replays the source from position 0
/// under its own checkpoint (`NAME:rebuild`), while the live lane keeps serving and updating the live tables.
/// Once the shadow is at the head, the live lane is stopped, the shadow catches up to the head once more, and
/// one transaction swaps: every table of the shadow schema takes the place of the live table of that name,
/// the live checkpoint takes the shadow's position, and the rebuild's rows go. Then a fresh live lane starts.
///
/// A partitioned handler (checkpoints/partitionings.hpp) is rebuilt whole: its K rebuild lanes replay their
/// partitions into the one shadow schema of the handler, each under its own checkpoint (`NAME/p:rebuild`), and
/// one swap moves all K checkpoints to their live names and records the count, leaving no checkpoint of another
/// count behind: a rebuild is how a projection's partition count changes.
///
/// The swap raises the epoch of every live lease of the handler (checkpoints/leases.hpp): a live lane that
/// another process runs commits nothing more from the checkpoint it had, and takes the lease again from the
/// swapped one.
///
/// `projectord.rebuilds` remembers a rebuild in progress and its partition count, so that `run` resumes it
/// after a crash from the shadow checkpoints; the swap is one transaction, so a crash in it leaves either the
/// old or the new model.
#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "base/event.hpp"
#include "base/postgres/session.hpp"
#include "base/result.hpp"

namespace projectord::rebuild {

/// How long the swap waits for a live table's lock before it fails with lock_not_available (55P03), which the
/// rebuild lane retries with backoff.
inline constexpr std::chrono::milliseconds kSwapLockTimeout{2000};

/// The shadow schema of `handler` (the handler's name, a partitioned one's too).
std::string shadow_schema(const std::string& handler);
/// The shadow checkpoint of `lane` (NAME, or a partition's NAME/p).
std::string shadow_checkpoint(const std::string& lane);

/// Why this handler (or lane: a partition is refused, its handler is rebuilt whole) cannot be rebuilt
/// blue/green, or nothing.
std::optional<std::string> refusal(const config::Handler& handler);

/// A fresh rebuild of `handler` in `partitions`: drops what an earlier one left (shadow schema, shadow
/// checkpoints of any count), creates the shadow schema and records this rebuild. Once for all its lanes.
void begin(pqxx::work& txn, const std::string& handler, const std::string& requested_by, std::int64_t partitions);

/// Gives a rebuild up: its shadow schema, checkpoints and record go; the live model stays as it is.
void abandon(pqxx::work& txn, const std::string& handler);

/// Creates the shadow schema if needed and puts it first on the connection's search_path, through `settings`
/// (for the session, or for each transaction behind a transaction pooler).
void enter_shadow(pqxx::connection& connection, const std::string& handler, postgres::SessionSettings& settings);

/// A rebuild in progress when the daemon last stopped.
struct InProgress {
  std::string handler;
  std::int64_t partitions = 1;  ///< the count its shadow checkpoints were kept in
};
std::vector<InProgress> in_progress(pqxx::connection& connection);

/// Where the live lane, whose search_path is the transaction's with `shadow` left out, finds `table`.
struct LivePlace {
  std::optional<std::string> schema;  ///< the schema of the live table of that name; none: no such table
  std::string first_schema;  ///< where an unqualified CREATE of the live lane would put it; empty: nowhere
};
LivePlace live_place(pqxx::transaction_base& txn, const std::string& table, const std::string& shadow);

/// The live lane's checkpoint position (0 when it has none): once the live lane stopped, the least the
/// rebuild's must reach before its model holds everything the live one did.
Position live_position(pqxx::connection& connection, const std::string& lane);

/// The swap of `handler` rebuilt in `partitions`, in the caller's transaction, between the rebuild lanes'
/// transactions and after every live lane of this process stopped: returns the tables swapped in, or an error
/// when the shadow holds none (a setup whose names are schema-qualified would have written the live tables).
Result<std::vector<std::string>> swap(pqxx::work& txn, const std::string& handler, std::int64_t partitions);

}  // namespace projectord::rebuild
