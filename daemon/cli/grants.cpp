#include "daemon/cli/grants.hpp"

#include <pqxx/result>
#include <pqxx/transaction>
#include <set>
#include <sstream>

#include "base/postgres/identifier.hpp"
#include "checkpoints/rebuilds.hpp"
#include "handlers/registry.hpp"

namespace projectord::cli {

namespace {

constexpr const char* kDml = "SELECT, INSERT, UPDATE, DELETE";

struct Relation {
  std::string name;    ///< schema-qualified, quoted
  std::string schema;  ///< quoted
  std::vector<std::string> sequences;  ///< the sequences it owns (identity, serial), schema-qualified, quoted
};

// `whose`: the config's word for it in an error, e.g. "handler users".
Result<Relation> resolve(pqxx::transaction_base& txn, const std::string& sql_name, const std::string& whose) {
  const pqxx::result found = txn.exec_params(
      "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(n.nspname)"
      " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
      sql_name);
  if (found.empty()) {
    return fail("table " + sql_name + " of " + whose +
                " does not exist: run `projectord migrate` first, then print the grants");
  }
  Relation relation{found[0][0].as<std::string>(), found[0][1].as<std::string>(), {}};
  for (const auto& row : txn.exec_params(
           "SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname) FROM pg_depend d"
           " JOIN pg_class s ON s.oid = d.objid AND d.classid = 'pg_class'::regclass"
           " JOIN pg_namespace n ON n.oid = s.relnamespace"
           " WHERE s.relkind = 'S' AND d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass($1)"
           " AND d.deptype IN ('a', 'i') ORDER BY 1",
           sql_name)) {
    relation.sequences.push_back(row[0].as<std::string>());
  }
  return relation;
}

}  // namespace

Result<std::string> least_privilege_grants(const config::Config& config, const std::string& role,
                                           pqxx::connection& target) {
  pqxx::read_transaction txn(target);
  const std::string to = " TO " + txn.quote_name(role) + ";\n";
  const std::string database = txn.quote_name(txn.exec1("SELECT current_database()")[0].as<std::string>());
  std::ostringstream out;
  out << "-- least privileges of role " << role << " for projectord (run as the owner, after projectord migrate)\n"
      << "-- connect to the read models' database\nGRANT CONNECT ON DATABASE " << database << to;

  std::set<std::string> usage;  // schemas already granted USAGE on
  for (const auto& [name, source] : config.postgres_sources) {
    for (const std::string& event_table : config::event_tables(source)) {
      const std::string table = postgres::quote_identifier(event_table);
      if (source.url != config.database_url) {
        // Another database: connecting to it, and USAGE on a schema it names, are granted there.
        const auto dot = event_table.find('.');
        out << "-- source " << name << ": read its events (run in the source's database, not this one)\n";
        if (dot != std::string::npos) {
          out << "GRANT USAGE ON SCHEMA " << postgres::quote_identifier(event_table.substr(0, dot)) << to;
        }
        out << "GRANT SELECT ON " << table << to;
        continue;
      }
      auto relation = resolve(txn, table, "source " + name);
      if (!relation) return fail(relation.error());
      out << "-- source " << name << ": read its events\n";
      if (usage.insert(relation->schema).second) out << "GRANT USAGE ON SCHEMA " << relation->schema << to;
      out << "GRANT SELECT ON " << relation->name << to;
    }
  }

  out << "-- the projectord schema: checkpoints, dead letters, rebuild bookkeeping\n"
      << "GRANT USAGE ON SCHEMA projectord" << to << "GRANT " << kDml << " ON ALL TABLES IN SCHEMA projectord" << to;

  std::vector<Relation> owned;    // read-model tables the daemon indexes or a rebuild swaps
  std::set<std::string> swapped;  // the schemas of those a rebuild swaps
  bool temp = false;
  for (const auto& [name, handler] : config.handlers) {
    auto projection = handlers::make_projection(handler);
    if (!projection) return fail(projection.error());
    const auto statements = (*projection)->setup_sql();
    if (statements.empty()) continue;
    out << "-- handler " << name << ": write its read model\n";
    for (const handlers::SetupStatement& statement : statements) {
      if (statement.creates.empty()) {
        out << "-- (its setup does not start with CREATE TABLE: grant " << kDml << " on the tables it writes)\n";
        continue;
      }
      auto relation = resolve(txn, statement.creates, "handler " + name);
      if (!relation) return fail(relation.error());
      if (usage.insert(relation->schema).second) out << "GRANT USAGE ON SCHEMA " << relation->schema << to;
      out << "GRANT " << kDml << " ON " << relation->name << to;
      for (const std::string& sequence : relation->sequences) out << "GRANT USAGE ON SEQUENCE " << sequence << to;
      const bool rebuildable = !rebuild::refusal(handler);
      if (rebuildable) swapped.insert(relation->schema);
      if (rebuildable || !(*projection)->reader_indexes().empty()) owned.push_back(std::move(*relation));
    }
    temp = temp || (*projection)->uses_temp_tables();
  }
  if (temp) out << "-- handlers that stage their writes in temporary tables\nGRANT TEMPORARY ON DATABASE " << database << to;

  if (!swapped.empty()) {
    out << "-- rebuilds: the shadow schema projectord_r_NAME (and the swap's projectord_o_NAME)\n"
        << "GRANT CREATE ON DATABASE " << database << to
        << "-- rebuilds: the swap moves the new tables into the read models' schema\n";
    for (const std::string& schema : swapped) out << "GRANT CREATE ON SCHEMA " << schema << to;
  }
  if (!owned.empty()) {
    out << "-- reader indexes (the daemon builds them once caught up) and rebuilds (the swap moves the tables with\n"
        << "-- ALTER TABLE ... SET SCHEMA) need the read-model tables' ownership\n";
    for (const Relation& relation : owned) out << "ALTER TABLE " << relation.name << " OWNER" << to;
  }
  return Result<std::string>(boost::system::in_place_value, out.str());
}

}  // namespace projectord::cli
