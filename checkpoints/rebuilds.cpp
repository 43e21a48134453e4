#include "checkpoints/rebuilds.hpp"

#include <pqxx/result>
#include <string_view>

#include "checkpoints/checkpoint_store.hpp"
#include "checkpoints/partitionings.hpp"

namespace projectord::rebuild {

namespace {

// Where a replaced live table goes inside the swap's transaction before it is dropped. Handler names are at
// most 48 characters (config/loader.cpp), so both schema names stay within PostgreSQL's 63.
std::string retired_schema(const std::string& handler) { return "projectord_o_" + handler; }

constexpr std::string_view kShadow = ":rebuild";

}  // namespace

std::string shadow_schema(const std::string& handler) { return "projectord_r_" + handler; }
std::string shadow_checkpoint(const std::string& lane) { return lane + std::string(kShadow); }

std::optional<std::string> refusal(const config::Handler& handler) {
  if (handler.is_side_effect) {
    return "handler " + handler.name + " is a " + handler.kind +
           " side effect: a rebuild replays history, and side effects are never sent again";
  }
  if (handler.partition) {
    return "handler " + handler.name + " is a partition of handler " + handler.partition->handler +
           ", whose partitions share one read model: rebuild " + handler.partition->handler +
           ", which rebuilds all its partitions together";
  }
  if (handler.table.find('.') != std::string::npos) {
    return "handler " + handler.name + " writes the schema-qualified table " + handler.table +
           ": a rebuild builds the unqualified names of the handler's setup in a shadow schema";
  }
  return std::nullopt;
}

namespace {

void clear_shadow(pqxx::work& txn, const std::string& handler) {
  txn.exec0("DROP SCHEMA IF EXISTS " + txn.quote_name(shadow_schema(handler)) + " CASCADE");
  txn.exec_params0(
      "DELETE FROM projectord.checkpoints WHERE " + checkpoints::partition_names_condition("handler", kShadow),
      handler);
}

}  // namespace

void abandon(pqxx::work& txn, const std::string& handler) {
  clear_shadow(txn, handler);
  txn.exec_params0("DELETE FROM projectord.rebuilds WHERE handler = $1", handler);
}

void begin(pqxx::work& txn, const std::string& handler, const std::string& requested_by, std::int64_t partitions) {
  clear_shadow(txn, handler);
  // Created here, once: the K lanes of a partitioned handler would race to create it.
  txn.exec0("CREATE SCHEMA " + txn.quote_name(shadow_schema(handler)));
  txn.exec_params0(
      "INSERT INTO projectord.rebuilds (handler, shadow_schema, requested_by, partitions) VALUES ($1, $2, $3, $4)"
      " ON CONFLICT (handler) DO UPDATE SET requested_by = EXCLUDED.requested_by, started_at = now(),"
      " partitions = EXCLUDED.partitions",
      handler, shadow_schema(handler), requested_by, partitions);
}

void enter_shadow(pqxx::connection& connection, const std::string& handler, postgres::SessionSettings& settings) {
  pqxx::work txn(connection);
  const std::string schema = txn.quote_name(shadow_schema(handler));
  txn.exec0("CREATE SCHEMA IF NOT EXISTS " + schema);
  const std::string live_path = txn.exec1("SHOW search_path")[0].as<std::string>();
  txn.commit();
  settings.set(connection, "search_path", schema + ", " + live_path);
}

std::vector<InProgress> in_progress(pqxx::connection& connection) {
  pqxx::read_transaction txn(connection);
  std::vector<InProgress> rebuilds;
  for (const auto& row : txn.exec("SELECT handler, partitions FROM projectord.rebuilds ORDER BY handler")) {
    rebuilds.push_back({row[0].as<std::string>(), row[1].as<std::int64_t>()});
  }
  return rebuilds;
}

LivePlace live_place(pqxx::transaction_base& txn, const std::string& table, const std::string& shadow) {
  const pqxx::row live = txn.exec_params1(
      "WITH path AS (SELECT schema, ordinality FROM unnest(current_schemas(false)) WITH ORDINALITY AS p(schema)"
      "              WHERE schema <> $2)"
      " SELECT (SELECT p.schema FROM path p JOIN pg_namespace n ON n.nspname = p.schema"
      "         JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $1 AND c.relkind IN ('r', 'p')"
      "         ORDER BY p.ordinality LIMIT 1),"
      "        (SELECT schema FROM path ORDER BY ordinality LIMIT 1)",
      table, shadow);
  LivePlace place{std::nullopt, live[1].is_null() ? std::string() : live[1].as<std::string>()};
  if (!live[0].is_null()) place.schema = live[0].as<std::string>();
  return place;
}

Position live_position(pqxx::connection& connection, const std::string& lane) {
  return checkpoints::stored_position(connection, lane).value_or(0);
}

namespace {

// Each shadow checkpoint becomes the live one of its name; the live checkpoints of another partition count go,
// and the count is recorded. Every live lease of the handler gets a new epoch: a lane holding one (in another
// process: this one's stopped for the swap) fails its next commit, and its next session loads the swapped
// checkpoint.
void hand_over_checkpoints(pqxx::work& txn, const std::string& handler, std::int64_t partitions) {
  const std::string live = checkpoints::partition_names_condition("handler");
  const std::string shadow = checkpoints::partition_names_condition("handler", kShadow);
  const std::string live_name = "left(handler, -" + std::to_string(kShadow.size()) + ")";
  txn.exec_params0("DELETE FROM projectord.checkpoints WHERE " + live + " AND handler NOT IN (SELECT " + live_name +
                       " FROM projectord.checkpoints WHERE " + shadow + ")",
                   handler);
  txn.exec_params0(
      "INSERT INTO projectord.checkpoints (handler, source, position, events_applied, holes, anchor_position,"
      " anchor_fingerprint) SELECT " + live_name + ", source, position, events_applied, holes, anchor_position,"
      " anchor_fingerprint FROM projectord.checkpoints WHERE " + shadow +
      " ON CONFLICT (handler) DO UPDATE SET source = EXCLUDED.source, position = EXCLUDED.position,"
      " events_applied = EXCLUDED.events_applied, holes = EXCLUDED.holes, anchor_position ="
      " EXCLUDED.anchor_position, anchor_fingerprint = EXCLUDED.anchor_fingerprint, updated_at = now()",
      handler);
  txn.exec_params0("DELETE FROM projectord.checkpoints WHERE " + shadow, handler);
  txn.exec_params0(
      "UPDATE projectord.leases SET epoch = epoch + 1 WHERE " + checkpoints::partition_names_condition("name"),
      handler);
  checkpoints::record_partitioning(txn, handler, partitions);
}

}  // namespace

Result<std::vector<std::string>> swap(pqxx::work& txn, const std::string& handler, std::int64_t partitions) {
  const std::string shadow = shadow_schema(handler);
  const std::string retired = retired_schema(handler);
  std::vector<std::string> tables;
  for (const auto& row : txn.exec_params(
           "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
           " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname",
           shadow)) {
    tables.push_back(row[0].as<std::string>());
  }
  if (tables.empty()) {
    return fail("the shadow schema " + shadow + " holds no table: does handler " + handler +
                "'s setup name its tables with a schema?");
  }
  // The swap needs the live tables exclusively. Waiting behind a long reader would queue every later reader
  // behind the swap's lock request; giving up after a moment (lock_not_available) and retrying does not.
  txn.exec0("SET LOCAL lock_timeout = '" + std::to_string(kSwapLockTimeout.count()) + "ms'");
  txn.exec0("DROP SCHEMA IF EXISTS " + txn.quote_name(retired) + " CASCADE");
  txn.exec0("CREATE SCHEMA " + txn.quote_name(retired));
  for (const std::string& table : tables) {
    // The live table of that name is the one the live lane's search_path (the shadow left out) finds first;
    // without one, the table goes where the live lane would have created it.
    const LivePlace live = live_place(txn, table, shadow);
    const std::string name = txn.quote_name(table);
    const std::string destination = live.schema.value_or(live.first_schema);
    if (live.schema) {
      txn.exec0("ALTER TABLE " + txn.quote_name(destination) + "." + name + " SET SCHEMA " + txn.quote_name(retired));
    }
    txn.exec0("ALTER TABLE " + txn.quote_name(shadow) + "." + name + " SET SCHEMA " + txn.quote_name(destination));
  }
  txn.exec0("DROP SCHEMA " + txn.quote_name(retired) + " CASCADE");
  txn.exec0("DROP SCHEMA " + txn.quote_name(shadow) + " CASCADE");
  hand_over_checkpoints(txn, handler, partitions);
  txn.exec_params0("DELETE FROM projectord.rebuilds WHERE handler = $1", handler);
  return tables;
}

}  // namespace projectord::rebuild
