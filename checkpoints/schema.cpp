#include "checkpoints/schema.hpp"

#include <pqxx/transaction>

namespace projectord::checkpoints {

std::vector<std::string> install_schema_sql() {
  return {
      "CREATE SCHEMA IF NOT EXISTS projectord",
      "CREATE TABLE IF NOT EXISTS projectord.schema_version (version integer NOT NULL)",
      "INSERT INTO projectord.schema_version SELECT " + std::to_string(kSchemaVersion) +
          " WHERE NOT EXISTS (SELECT 1 FROM projectord.schema_version)",
      // An older version's tables are brought up to this one by the idempotent CREATEs and ALTERs below.
      "UPDATE projectord.schema_version SET version = " + std::to_string(kSchemaVersion),
      // One row per handler. `position` is the last settled position: every event at or below it has been
      // applied (or dead-lettered, or was a hole). `holes`: positions passed with no row while live, each with
      // the time (unix ms) until which it is looked at again for a late row: {"1234": 1763900000000}.
      "CREATE TABLE IF NOT EXISTS projectord.checkpoints ("
      " handler text PRIMARY KEY, source text NOT NULL, position bigint NOT NULL DEFAULT 0,"
      " events_applied bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(),"
      " holes jsonb NOT NULL DEFAULT '{}')",
      // The row the checkpoint ended on: the position of a row at or below `position` and the fingerprint of
      // its stream id, version and type (sources/row_fingerprint.hpp). A source whose row there is gone or
      // different went backwards under the checkpoint (a restore from an older backup); NULL: none noted yet.
      "ALTER TABLE projectord.checkpoints ADD COLUMN IF NOT EXISTS anchor_position bigint,"
      " ADD COLUMN IF NOT EXISTS anchor_fingerprint bigint",
      "CREATE TABLE IF NOT EXISTS projectord.dead_letters ("
      " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, handler text NOT NULL, source text NOT NULL,"
      " position bigint NOT NULL, stream_id text, event_type text, payload text, error text NOT NULL,"
      " attempts integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (handler, position))",
      // A rebuild in progress: its shadow schema and checkpoints (each lane's name + ':rebuild') survive a
      // crash, and `run` resumes it. The row goes in the swap's transaction.
      "CREATE TABLE IF NOT EXISTS projectord.rebuilds ("
      " handler text PRIMARY KEY, shadow_schema text NOT NULL, requested_by text NOT NULL,"
      " started_at timestamptz NOT NULL DEFAULT now())",
      // The partition count the rebuild replays in: its shadow checkpoints (NAME/p:rebuild) are positions of
      // that count's partitions, which a resume under another count cannot continue from.
      "ALTER TABLE projectord.rebuilds ADD COLUMN IF NOT EXISTS partitions integer NOT NULL DEFAULT 1",
      // Which process runs a checkpoint (a handler, or a rebuild's NAME:rebuild) until `expires_at`
      // (checkpoints/leases.hpp). `epoch` rises with every take: a checkpoint moves only while its lane's
      // epoch is the row's. `owner` is unique to one run of a process; `host` and `pid` name it for people.
      "CREATE TABLE IF NOT EXISTS projectord.leases ("
      " name text PRIMARY KEY, owner text NOT NULL, host text NOT NULL, pid bigint NOT NULL, epoch bigint NOT NULL,"
      " acquired_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)",
      // The processes waiting for a lease, each as last seen asking for it.
      "CREATE TABLE IF NOT EXISTS projectord.lease_standbys ("
      " name text NOT NULL, owner text NOT NULL, host text NOT NULL, pid bigint NOT NULL,"
      " since timestamptz NOT NULL DEFAULT now(), seen_at timestamptz NOT NULL DEFAULT now(),"
      " PRIMARY KEY (name, owner))",
      // A side effect's delivery attempts at the events of [first_position, last_position], each committed
      // before the delivery it counts (checkpoints/attempts.hpp): rows the checkpoint has passed count no more.
      "CREATE TABLE IF NOT EXISTS projectord.attempts ("
      " handler text NOT NULL, first_position bigint NOT NULL, last_position bigint NOT NULL,"
      " attempts integer NOT NULL, PRIMARY KEY (handler, first_position, last_position))",
      // The processes that run handlers, each alive until `expires_at` (renewed with its leases). `handlers`:
      // the lease names it runs lanes for, over which the live processes spread evenly.
      "CREATE TABLE IF NOT EXISTS projectord.processes ("
      " owner text PRIMARY KEY, host text NOT NULL, pid bigint NOT NULL, handlers text[] NOT NULL,"
      " started_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL)",
      // How many partitions a partitioned handler's checkpoints (NAME/0 ..) were kept in
      // (checkpoints/partitionings.hpp); no row: one, the checkpoint named NAME.
      "CREATE TABLE IF NOT EXISTS projectord.partitionings ("
      " handler text PRIMARY KEY, partitions integer NOT NULL, since timestamptz NOT NULL DEFAULT now())",
  };
}

std::vector<std::string> uninstall_schema_sql() { return {"DROP SCHEMA IF EXISTS projectord CASCADE"}; }

std::string check_schema(pqxx::connection& connection) {
  pqxx::read_transaction txn(connection);
  const pqxx::row exists = txn.exec1("SELECT to_regclass('projectord.schema_version') IS NOT NULL");
  if (!exists[0].as<bool>()) return "the projectord schema is not installed: run `projectord migrate`";
  const pqxx::result version = txn.exec("SELECT version FROM projectord.schema_version");
  if (version.empty() || version[0][0].as<int>() != kSchemaVersion) {
    return "the projectord schema has another version than this binary (" + std::to_string(kSchemaVersion) +
           "): run `projectord migrate`";
  }
  return {};
}

}  // namespace projectord::checkpoints
