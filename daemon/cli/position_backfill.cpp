#include "daemon/cli/position_backfill.hpp"

#include <algorithm>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/postgres/conninfo.hpp"
#include "base/postgres/identifier.hpp"

namespace projectord::cli {
namespace {

using postgres::quote_identifier;

// Rows the table may gain between counting them and setting the column's default: the sequence starts this
// far above the count, so that no planned position can reach a position given at insert.
constexpr std::int64_t kReservedMargin = 1'000'000;

// Each exclusive lock is asked for this long, then given up and asked again, so that writers never queue
// behind the command for longer.
constexpr const char* kLockTimeout = "2s";
constexpr int kLockAttempts = 150;

// One table the command numbers and what it creates on it (schema-qualified like the table): the unique
// index and the CHECK constraint. Unquoted; q() quotes them where SQL names them.
struct TableNames {
  std::string table;
  std::string index;       // schema-qualified, for lookups and DROP
  std::string index_bare;  // CREATE INDEX puts it in the table's schema
  std::string check;
};

// The source's tables and what they share, named after the first table: the column, the sequence and the
// plan. Several tables keep the sequence as their column's default, since an identity column cannot be shared.
struct Names {
  std::vector<TableNames> tables;
  std::string column;
  std::string sequence;
  std::string plan;

  bool shared() const { return tables.size() > 1; }
  std::string listed() const {
    std::string list;
    for (const TableNames& table : tables) list += (list.empty() ? "" : ", ") + table.table;
    return list;
  }
};

// A table's one-column primary key: the plan holds it as text, cast back to its type to find the row.
struct Key {
  std::string column;
  std::string type;
};

std::string q(const std::string& name) { return quote_identifier(name); }

std::string derived(const std::string& table, const std::string& suffix) {
  const std::string name = table + suffix;
  if (const std::string problem = postgres::identifier_problem(name, true); !problem.empty()) {
    throw std::runtime_error("cannot name " + name + ": " + problem + " (choose a shorter table name)");
  }
  return name;
}

Names names_for(const config::PostgresSource& source) {
  const std::vector<std::string> tables = config::event_tables(source);
  const std::string& column = source.position_column;
  Names names{.tables = {},
              .column = column,
              .sequence = derived(tables.front(), "_" + column + "_seq"),
              .plan = derived(tables.front(), "_" + column + "_plan")};
  for (const std::string& table : tables) {
    const std::size_t dot = table.find('.');
    const std::string bare = dot == std::string::npos ? table : table.substr(dot + 1);
    const std::string schema_prefix = dot == std::string::npos ? "" : table.substr(0, dot + 1);
    const std::string index_bare = derived(bare, "_" + column + "_key");
    names.tables.push_back({.table = table,
                            .index = schema_prefix + index_bare,
                            .index_bare = index_bare,
                            .check = derived(bare, "_" + column + "_not_null")});
  }
  return names;
}

// Runs `step` in a transaction that waits at most kLockTimeout for each lock, again while the lock is not
// granted; says so once.
template <typename Step>
void with_short_locks(pqxx::connection& connection, const std::string& tables, std::ostream& out, Step&& step) {
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::work txn(connection);
      txn.exec(std::string("SET LOCAL lock_timeout = '") + kLockTimeout + "'");
      step(txn);
      txn.commit();
      return;
    } catch (const pqxx::sql_error& error) {
      if (error.sqlstate() != "55P03" || attempt == kLockAttempts) throw;
      if (attempt == 1) out << "waiting for a lock on " << tables << " (a transaction holds it)" << std::endl;
    }
  }
}

struct ColumnState {
  bool exists = false;
  char identity = '\0';  // pg_attribute.attidentity: 'a' always, 'd' by default, '\0' none
  bool not_null = false;
};

ColumnState column_state(pqxx::connection& connection, const std::string& table, const std::string& column) {
  pqxx::work txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT attidentity, attnotnull FROM pg_attribute"
      " WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped",
      q(table), column);
  if (rows.empty()) return {};
  const std::string identity = rows[0][0].c_str();
  return {.exists = true,
          .identity = identity.empty() ? '\0' : identity[0],
          .not_null = rows[0][1].as<bool>()};
}

Key primary_key(pqxx::connection& connection, const std::string& table) {
  pqxx::work txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute a"
      " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary",
      q(table));
  if (rows.size() != 1) throw std::runtime_error(table + " needs a primary key of one column to be backfilled by");
  return {rows[0][0].c_str(), rows[0][1].c_str()};
}

bool exists(pqxx::connection& connection, const std::string& relation) {
  pqxx::work txn(connection);
  return !txn.exec_params1("SELECT to_regclass($1) IS NULL", quote_identifier(relation))[0].as<bool>();
}

// Step 1: the column on every table, numbered at insert from one sequence above every row there now.
void add_numbered_column(pqxx::connection& connection, const Names& names, std::ostream& out) {
  std::int64_t rows = 0;
  {
    pqxx::work txn(connection);
    for (const TableNames& table : names.tables) {
      rows += txn.exec1("SELECT count(*) FROM " + q(table.table))[0].as<std::int64_t>();
    }
  }
  const std::int64_t start = rows + kReservedMargin;
  with_short_locks(connection, names.listed(), out, [&](pqxx::work& txn) {
    txn.exec("CREATE SEQUENCE " + q(names.sequence) + " AS bigint START WITH " + std::to_string(start));
    for (const TableNames& table : names.tables) {
      txn.exec("ALTER TABLE " + q(table.table) + " ADD COLUMN " + q(names.column) + " bigint");
      // A shared sequence belongs to no one table: dropping one of them leaves the others numbered.
      if (!names.shared()) {
        txn.exec("ALTER SEQUENCE " + q(names.sequence) + " OWNED BY " + q(table.table) + "." + q(names.column));
      }
      txn.exec("ALTER TABLE " + q(table.table) + " ALTER COLUMN " + q(names.column) + " SET DEFAULT nextval(" +
               txn.quote(q(names.sequence)) + "::regclass)");
    }
  });
  out << "added " << names.column << " to " << names.listed() << ": rows written from now on are numbered from "
      << start << " on; the " << rows << " there are numbered next" << std::endl;
}

// The rows without a position as (branch: the table's place in the list, key as text, position). One table:
// in recorded-at order, each stream's rows in version order (a stream's rows take the slots its recorded-at
// order gives them, sorted by version). Several tables (no versions): in recorded-at order, ties in table
// order, then key order.
std::string planned_positions(const config::PostgresSource& source, const Names& names, const std::vector<Key>& keys) {
  if (!names.shared()) {
    return "WITH pending AS (SELECT " + q(keys[0].column) + "::text AS key, " + q(source.stream_id_column) +
           " AS stream, " + q(source.version_column) + " AS version, " + q(source.recorded_at_column) + " AS at FROM " +
           q(names.tables[0].table) + " WHERE " + q(names.column) +
           " IS NULL), slots AS (SELECT stream, row_number() OVER (ORDER BY at, stream, version) AS position,"
           " row_number() OVER (PARTITION BY stream ORDER BY at, version) AS k FROM pending),"
           " owners AS (SELECT key, stream, row_number() OVER (PARTITION BY stream ORDER BY version) AS k FROM pending)"
           " SELECT 0 AS branch, owners.key, slots.position FROM owners JOIN slots USING (stream, k)";
  }
  std::string pending;
  for (std::size_t i = 0; i < names.tables.size(); ++i) {
    // The key's own order, not its text's: id 10 comes after id 9.
    pending += std::string(i > 0 ? " UNION ALL " : "") + "SELECT " + std::to_string(i) + " AS branch, " +
               q(keys[i].column) + "::text AS key, row_number() OVER (ORDER BY " + q(keys[i].column) +
               ") AS key_order, " + q(source.recorded_at_column) + " AS at FROM " + q(names.tables[i].table) +
               " WHERE " + q(names.column) + " IS NULL";
  }
  return "WITH pending AS (" + pending +
         ") SELECT branch, key, row_number() OVER (ORDER BY at, branch, key_order) AS position FROM pending";
}

// Step 2: positions for the rows without one, into the plan.
void plan_positions(pqxx::connection& connection, const config::PostgresSource& source, const Names& names,
                    const std::vector<Key>& keys, std::ostream& out) {
  pqxx::work txn(connection);
  txn.exec("CREATE TABLE " + q(names.plan) + " AS " + planned_positions(source, names, keys));
  txn.exec("ALTER TABLE " + q(names.plan) + " ADD PRIMARY KEY (position)");
  std::string unnumbered;
  for (const TableNames& table : names.tables) {
    unnumbered += std::string(unnumbered.empty() ? "" : " + ") + "(SELECT count(*) FROM " + q(table.table) +
                  " WHERE " + q(names.column) + " IS NULL)";
  }
  const pqxx::row counts = txn.exec_params1(
      "SELECT (SELECT count(*) FROM " + q(names.plan) + "), " + unnumbered +
          ", (SELECT seqstart FROM pg_sequence WHERE seqrelid = $1::regclass)",
      q(names.sequence));
  const auto planned = counts[0].as<std::int64_t>();
  if (planned != counts[1].as<std::int64_t>()) {
    throw std::runtime_error("rows without a " + source.stream_id_column +
                             " cannot be ordered: every row needs a stream id to be given a position");
  }
  if (planned >= counts[2].as<std::int64_t>()) {
    throw std::runtime_error("the tables grew by more than " + std::to_string(kReservedMargin) +
                             " rows while the column was added; drop the column and its sequence and run again");
  }
  txn.commit();
  out << "planned positions 1.." << planned << " for the rows written before" << std::endl;
}

// Step 3: the plan, batch by batch, each its own transaction; every table's rows of a batch in it.
void backfill(pqxx::connection& connection, const Names& names, const std::vector<Key>& keys, std::size_t batch_rows,
              std::ostream& out) {
  std::int64_t done = 0;
  std::int64_t total = 0;
  {
    pqxx::work txn(connection);
    total = txn.exec1("SELECT count(*) FROM " + q(names.plan))[0].as<std::int64_t>();
    for (const TableNames& table : names.tables) {
      done = std::max(done, txn.exec_params1("SELECT coalesce(max(" + q(names.column) + "), 0) FROM " +
                                                 q(table.table) + " WHERE " + q(names.column) + " <= $1",
                                             total)[0]
                                .as<std::int64_t>());
    }
  }
  if (done > 0 && done < total) out << "resuming the backfill after position " << done << std::endl;
  std::string updates;
  for (std::size_t i = 0; i < names.tables.size(); ++i) {
    updates += ", updated_" + std::to_string(i) + " AS (UPDATE " + q(names.tables[i].table) + " AS target SET " +
               q(names.column) + " = batch.position FROM batch WHERE batch.branch = " + std::to_string(i) +
               " AND target." + q(keys[i].column) + " = batch.key::" + keys[i].type + " AND target." +
               q(names.column) + " IS NULL)";
  }
  while (done < total) {
    pqxx::work txn(connection);
    const pqxx::row batch = txn.exec_params1(
        "WITH batch AS (SELECT branch, key, position FROM " + q(names.plan) +
            " WHERE position > $1 ORDER BY position LIMIT $2)" + updates + " SELECT max(position) FROM batch",
        done, static_cast<std::int64_t>(batch_rows));
    txn.commit();
    if (batch[0].is_null()) break;
    done = batch[0].as<std::int64_t>();
    out << "backfilled " << done << " of " << total << " rows" << std::endl;
  }
}

// Step 4: the unique index, built while writers go on; an invalid one left by an interrupted build is
// dropped and built again.
void build_unique_index(pqxx::connection& connection, const TableNames& table, const std::string& column,
                        std::ostream& out) {
  std::string valid;
  {
    pqxx::work txn(connection);
    valid = txn.exec_params1("SELECT (SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass($1))",
                             quote_identifier(table.index))[0]
                .c_str();
  }
  if (valid == "true") return;
  pqxx::nontransaction txn(connection);
  if (valid == "false") txn.exec("DROP INDEX CONCURRENTLY " + quote_identifier(table.index));
  txn.exec("CREATE UNIQUE INDEX CONCURRENTLY " + q(table.index_bare) + " ON " + q(table.table) + " (" + q(column) +
           ")");
  out << "built the unique index " << table.index << std::endl;
}

// Step 5: NOT NULL without scanning the table under an exclusive lock: a CHECK constraint validated under a
// lock writers do not wait for lets SET NOT NULL skip its scan.
void make_not_null(pqxx::connection& connection, const TableNames& table, const std::string& column,
                   std::ostream& out) {
  bool has_check = false;
  {
    pqxx::work txn(connection);
    has_check = txn.exec_params1("SELECT count(*) > 0 FROM pg_constraint WHERE conrelid = $1::regclass AND"
                                 " conname = $2",
                                 q(table.table), table.check)[0]
                    .as<bool>();
  }
  if (!has_check) {
    with_short_locks(connection, table.table, out, [&](pqxx::work& txn) {
      txn.exec("ALTER TABLE " + q(table.table) + " ADD CONSTRAINT " + q(table.check) + " CHECK (" + q(column) +
               " IS NOT NULL) NOT VALID");
    });
  }
  with_short_locks(connection, table.table, out, [&](pqxx::work& txn) {
    txn.exec("ALTER TABLE " + q(table.table) + " VALIDATE CONSTRAINT " + q(table.check));
  });
  with_short_locks(connection, table.table, out, [&](pqxx::work& txn) {
    txn.exec("ALTER TABLE " + q(table.table) + " ALTER COLUMN " + q(column) + " SET NOT NULL");
    txn.exec("ALTER TABLE " + q(table.table) + " DROP CONSTRAINT " + q(table.check));
  });
  out << "made " << table.table << "." << column << " NOT NULL" << std::endl;
}

// Step 6, one table: the identity, continuing where the sequence is; the sequence and the plan go.
void make_identity(pqxx::connection& connection, const Names& names, std::ostream& out) {
  const std::string& table = names.tables[0].table;
  with_short_locks(connection, table, out, [&](pqxx::work& txn) {
    // The first ALTER takes the table's lock, so no insert takes a value between nextval and the identity.
    txn.exec("ALTER TABLE " + q(table) + " ALTER COLUMN " + q(names.column) + " DROP DEFAULT");
    const auto next = txn.exec_params1("SELECT nextval($1::regclass)", q(names.sequence))[0].as<std::int64_t>();
    txn.exec("ALTER TABLE " + q(table) + " ALTER COLUMN " + q(names.column) +
             " ADD GENERATED ALWAYS AS IDENTITY (START WITH " + std::to_string(next) + ")");
    txn.exec("DROP SEQUENCE " + q(names.sequence));
    txn.exec("DROP TABLE IF EXISTS " + q(names.plan));
  });
  out << table << "." << names.column << " is an identity column with a unique index: the source can be tailed"
      << std::endl;
}

// Step 6, several tables: the sequence stays their column's default; the plan goes.
void keep_shared_sequence(pqxx::connection& connection, const Names& names, std::ostream& out) {
  pqxx::work txn(connection);
  txn.exec("DROP TABLE IF EXISTS " + q(names.plan));
  txn.commit();
  out << names.column << " of " << names.listed() << " is drawn from " << names.sequence
      << " at insert, with a unique index on each table: the source can be tailed" << std::endl;
}

}  // namespace

int add_position(const config::PostgresSource& source, std::size_t batch_rows, std::ostream& out,
                 std::ostream& err) {
  const bool versioned = source.tables.empty();
  if (source.recorded_at_column.empty() ||
      (versioned && (source.stream_id_column.empty() || source.version_column.empty()))) {
    err << "migrate --add-position " << source.name << ": the source needs "
        << (versioned ? "stream_id_column, version_column and recorded_at_column" : "recorded_at_column")
        << " to order its rows\n";
    return 1;
  }
  try {
    const Names names = names_for(source);
    pqxx::connection connection(postgres::with_keepalives(source.url));
    const bool sequence = exists(connection, names.sequence);
    std::vector<ColumnState> columns;
    for (const TableNames& table : names.tables) {
      columns.push_back(column_state(connection, table.table, names.column));
      if (columns.back().identity != '\0') {
        out << table.table << "." << names.column << " is already an identity column\n";
        return 0;
      }
      if (columns.back().exists != sequence) {
        err << "migrate --add-position " << source.name << ": " << table.table
            << (sequence ? " has no column " + names.column + " but " + names.sequence +
                                " exists: a table listed after the others were numbered is not numbered"
                         : " already has a column " + names.column +
                               " that this command did not add; choose another position_column")
            << "\n";
        return 1;
      }
    }
    const auto numbered = [&] { return std::ranges::all_of(columns, &ColumnState::not_null); };
    if (names.shared() && numbered() && !exists(connection, names.plan)) {
      out << names.column << " of " << names.listed() << " is numbered already\n";
      return 0;
    }
    if (!sequence) add_numbered_column(connection, names, out);
    std::vector<Key> keys;
    for (const TableNames& table : names.tables) keys.push_back(primary_key(connection, table.table));
    if (!numbered()) {
      if (!exists(connection, names.plan)) plan_positions(connection, source, names, keys, out);
      backfill(connection, names, keys, batch_rows, out);
    }
    for (const TableNames& table : names.tables) {
      build_unique_index(connection, table, names.column, out);
      if (!column_state(connection, table.table, names.column).not_null) {
        make_not_null(connection, table, names.column, out);
      }
    }
    if (names.shared()) {
      keep_shared_sequence(connection, names, out);
    } else {
      make_identity(connection, names, out);
    }
  } catch (const std::exception& error) {
    err << "migrate --add-position " << source.name << " failed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace projectord::cli
