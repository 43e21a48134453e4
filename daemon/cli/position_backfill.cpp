#include "daemon/cli/position_backfill.hpp"

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <stdexcept>
#include <string>

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

// TABLE and what the command creates beside it (schema-qualified like it): a sequence, the plan, the unique
// index and the CHECK constraint. Unquoted; q() quotes them where SQL names them.
struct Names {
  std::string table;
  std::string column;
  std::string sequence;
  std::string plan;
  std::string index;       // schema-qualified, for lookups and DROP
  std::string index_bare;  // CREATE INDEX puts it in the table's schema
  std::string check;
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
  const std::string& table = source.table;
  const std::size_t dot = table.find('.');
  const std::string bare = dot == std::string::npos ? table : table.substr(dot + 1);
  const std::string schema_prefix = dot == std::string::npos ? "" : table.substr(0, dot + 1);
  const std::string& column = source.position_column;
  const std::string index_bare = derived(bare, "_" + column + "_key");
  return {.table = table,
          .column = column,
          .sequence = derived(table, "_" + column + "_seq"),
          .plan = derived(table, "_" + column + "_plan"),
          .index = schema_prefix + index_bare,
          .index_bare = index_bare,
          .check = derived(bare, "_" + column + "_not_null")};
}

// Runs `step` in a transaction that waits at most kLockTimeout for each lock, again while the lock is not
// granted; says so once.
template <typename Step>
void with_short_locks(pqxx::connection& connection, const Names& names, std::ostream& out, Step&& step) {
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::work txn(connection);
      txn.exec(std::string("SET LOCAL lock_timeout = '") + kLockTimeout + "'");
      step(txn);
      txn.commit();
      return;
    } catch (const pqxx::sql_error& error) {
      if (error.sqlstate() != "55P03" || attempt == kLockAttempts) throw;
      if (attempt == 1) out << "waiting for a lock on " << names.table << " (a transaction holds it)" << std::endl;
    }
  }
}

struct ColumnState {
  bool exists = false;
  char identity = '\0';  // pg_attribute.attidentity: 'a' always, 'd' by default, '\0' none
  bool not_null = false;
};

ColumnState column_state(pqxx::connection& connection, const Names& names, const std::string& column) {
  pqxx::work txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT attidentity, attnotnull FROM pg_attribute"
      " WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped",
      q(names.table), column);
  if (rows.empty()) return {};
  const std::string identity = rows[0][0].c_str();
  return {.exists = true,
          .identity = identity.empty() ? '\0' : identity[0],
          .not_null = rows[0][1].as<bool>()};
}

std::string primary_key_column(pqxx::connection& connection, const Names& names) {
  pqxx::work txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
      " WHERE i.indrelid = $1::regclass AND i.indisprimary",
      q(names.table));
  if (rows.size() != 1) {
    throw std::runtime_error(names.table + " needs a primary key of one column to be backfilled by");
  }
  return rows[0][0].c_str();
}

bool exists(pqxx::connection& connection, const std::string& relation) {
  pqxx::work txn(connection);
  return !txn.exec_params1("SELECT to_regclass($1) IS NULL", quote_identifier(relation))[0].as<bool>();
}

// Step 1: the column, numbered at insert from a sequence above every row there now.
void add_numbered_column(pqxx::connection& connection, const Names& names, std::ostream& out) {
  std::int64_t rows = 0;
  {
    pqxx::work txn(connection);
    rows = txn.exec1("SELECT count(*) FROM " + q(names.table))[0].as<std::int64_t>();
  }
  const std::int64_t start = rows + kReservedMargin;
  with_short_locks(connection, names, out, [&](pqxx::work& txn) {
    txn.exec("CREATE SEQUENCE " + q(names.sequence) + " AS bigint START WITH " + std::to_string(start));
    txn.exec("ALTER TABLE " + q(names.table) + " ADD COLUMN " + q(names.column) + " bigint");
    txn.exec("ALTER SEQUENCE " + q(names.sequence) + " OWNED BY " + q(names.table) + "." + q(names.column));
    txn.exec("ALTER TABLE " + q(names.table) + " ALTER COLUMN " + q(names.column) + " SET DEFAULT nextval(" +
             txn.quote(q(names.sequence)) + "::regclass)");
  });
  out << "added " << names.table << "." << names.column << ": rows written from now on are numbered from "
      << start << " on; the " << rows << " there are numbered next" << std::endl;
}

// Step 2: positions for the rows without one, in recorded-at order, each stream's in version order (a
// stream's rows take the slots its recorded-at order gives them, sorted by version).
void plan_positions(pqxx::connection& connection, const config::PostgresSource& source, const Names& names,
                    const std::string& key, std::ostream& out) {
  const auto q = [](const std::string& column) { return quote_identifier(column); };
  pqxx::work txn(connection);
  txn.exec("CREATE TABLE " + q(names.plan) + " AS WITH pending AS (SELECT " + q(key) + " AS key, " +
           q(source.stream_id_column) + " AS stream, " + q(source.version_column) + " AS version, " +
           q(source.recorded_at_column) + " AS at FROM " + q(names.table) + " WHERE " + q(names.column) +
           " IS NULL), slots AS (SELECT stream, row_number() OVER (ORDER BY at, stream, version) AS position,"
           " row_number() OVER (PARTITION BY stream ORDER BY at, version) AS k FROM pending),"
           " owners AS (SELECT key, stream, row_number() OVER (PARTITION BY stream ORDER BY version) AS k FROM pending)"
           " SELECT owners.key, slots.position FROM owners JOIN slots USING (stream, k)");
  txn.exec("ALTER TABLE " + q(names.plan) + " ADD PRIMARY KEY (position)");
  const pqxx::row counts = txn.exec_params1(
      "SELECT (SELECT count(*) FROM " + q(names.plan) + "), (SELECT count(*) FROM " + q(names.table) + " WHERE " +
          q(names.column) + " IS NULL), (SELECT seqstart FROM pg_sequence WHERE seqrelid = $1::regclass)",
      q(names.sequence));
  const auto planned = counts[0].as<std::int64_t>();
  if (planned != counts[1].as<std::int64_t>()) {
    throw std::runtime_error("rows without a " + source.stream_id_column +
                             " cannot be ordered: every row needs a stream id to be given a position");
  }
  if (planned >= counts[2].as<std::int64_t>()) {
    throw std::runtime_error("the table grew by more than " + std::to_string(kReservedMargin) +
                             " rows while the column was added; drop the column and its sequence and run again");
  }
  txn.commit();
  out << "planned positions 1.." << planned << " for the rows written before" << std::endl;
}

// Step 3: the plan, batch by batch, each its own transaction.
void backfill(pqxx::connection& connection, const Names& names, const std::string& key, std::size_t batch_rows,
              std::ostream& out) {
  std::int64_t done = 0;
  std::int64_t total = 0;
  {
    pqxx::work txn(connection);
    total = txn.exec1("SELECT count(*) FROM " + q(names.plan))[0].as<std::int64_t>();
    done = txn.exec_params1("SELECT coalesce(max(" + q(names.column) + "), 0) FROM " + q(names.table) + " WHERE " +
                                q(names.column) + " <= $1",
                            total)[0]
               .as<std::int64_t>();
  }
  if (done > 0 && done < total) out << "resuming the backfill after position " << done << std::endl;
  while (done < total) {
    pqxx::work txn(connection);
    const pqxx::row batch = txn.exec_params1(
        "WITH batch AS (SELECT key, position FROM " + q(names.plan) + " WHERE position > $1 ORDER BY position LIMIT $2),"
        " updated AS (UPDATE " + q(names.table) + " AS target SET " + q(names.column) + " = batch.position FROM batch"
        " WHERE target." + quote_identifier(key) + " = batch.key AND target." + q(names.column) + " IS NULL RETURNING 1)"
        " SELECT max(position), (SELECT count(*) FROM updated) FROM batch",
        done, static_cast<std::int64_t>(batch_rows));
    txn.commit();
    if (batch[0].is_null()) break;
    done = batch[0].as<std::int64_t>();
    out << "backfilled " << done << " of " << total << " rows" << std::endl;
  }
}

// Step 4: the unique index, built while writers go on; an invalid one left by an interrupted build is
// dropped and built again.
void build_unique_index(pqxx::connection& connection, const Names& names, std::ostream& out) {
  std::string valid;
  {
    pqxx::work txn(connection);
    valid = txn.exec_params1("SELECT (SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass($1))",
                             quote_identifier(names.index))[0]
                .c_str();
  }
  if (valid == "true") return;
  pqxx::nontransaction txn(connection);
  if (valid == "false") txn.exec("DROP INDEX CONCURRENTLY " + quote_identifier(names.index));
  txn.exec("CREATE UNIQUE INDEX CONCURRENTLY " + q(names.index_bare) + " ON " + q(names.table) + " (" + q(names.column) + ")");
  out << "built the unique index " << names.index << std::endl;
}

// Step 5: NOT NULL without scanning the table under an exclusive lock: a CHECK constraint validated under a
// lock writers do not wait for lets SET NOT NULL skip its scan.
void make_not_null(pqxx::connection& connection, const Names& names, std::ostream& out) {
  bool has_check = false;
  {
    pqxx::work txn(connection);
    has_check = txn.exec_params1("SELECT count(*) > 0 FROM pg_constraint WHERE conrelid = $1::regclass AND"
                                 " conname = $2",
                                 q(names.table), names.check)[0]
                    .as<bool>();
  }
  if (!has_check) {
    with_short_locks(connection, names, out, [&](pqxx::work& txn) {
      txn.exec("ALTER TABLE " + q(names.table) + " ADD CONSTRAINT " + q(names.check) + " CHECK (" + q(names.column) +
               " IS NOT NULL) NOT VALID");
    });
  }
  with_short_locks(connection, names, out, [&](pqxx::work& txn) {
    txn.exec("ALTER TABLE " + q(names.table) + " VALIDATE CONSTRAINT " + q(names.check));
  });
  with_short_locks(connection, names, out, [&](pqxx::work& txn) {
    txn.exec("ALTER TABLE " + q(names.table) + " ALTER COLUMN " + q(names.column) + " SET NOT NULL");
    txn.exec("ALTER TABLE " + q(names.table) + " DROP CONSTRAINT " + q(names.check));
  });
  out << "made " << names.table << "." << names.column << " NOT NULL" << std::endl;
}

// Step 6: the identity, continuing where the sequence is; the sequence and the plan go.
void make_identity(pqxx::connection& connection, const Names& names, std::ostream& out) {
  with_short_locks(connection, names, out, [&](pqxx::work& txn) {
    // The first ALTER takes the table's lock, so no insert takes a value between nextval and the identity.
    txn.exec("ALTER TABLE " + q(names.table) + " ALTER COLUMN " + q(names.column) + " DROP DEFAULT");
    const auto next = txn.exec_params1("SELECT nextval($1::regclass)", q(names.sequence))[0].as<std::int64_t>();
    txn.exec("ALTER TABLE " + q(names.table) + " ALTER COLUMN " + q(names.column) +
             " ADD GENERATED ALWAYS AS IDENTITY (START WITH " + std::to_string(next) + ")");
    txn.exec("DROP SEQUENCE " + q(names.sequence));
    txn.exec("DROP TABLE IF EXISTS " + q(names.plan));
  });
  out << names.table << "." << names.column
      << " is an identity column with a unique index: the source can be tailed" << std::endl;
}

}  // namespace

int add_position(const config::PostgresSource& source, std::size_t batch_rows, std::ostream& out,
                 std::ostream& err) {
  if (source.stream_id_column.empty() || source.version_column.empty() || source.recorded_at_column.empty()) {
    err << "migrate --add-position " << source.name
        << ": the source needs stream_id_column, version_column and recorded_at_column to order its rows\n";
    return 1;
  }
  try {
    const Names names = names_for(source);
    pqxx::connection connection(postgres::with_keepalives(source.url));
    ColumnState column = column_state(connection, names, source.position_column);
    if (column.identity != '\0') {
      out << names.table << "." << source.position_column << " is already an identity column\n";
      return 0;
    }
    if (column.exists && !exists(connection, names.sequence)) {
      err << "migrate --add-position " << source.name << ": " << names.table << " already has a column "
          << source.position_column << " that this command did not add; choose another position_column\n";
      return 1;
    }
    if (!column.exists) add_numbered_column(connection, names, out);
    const std::string key = primary_key_column(connection, names);
    if (!column.not_null) {
      if (!exists(connection, names.plan)) plan_positions(connection, source, names, key, out);
      backfill(connection, names, key, batch_rows, out);
    }
    build_unique_index(connection, names, out);
    if (!column_state(connection, names, source.position_column).not_null) make_not_null(connection, names, out);
    make_identity(connection, names, out);
  } catch (const std::exception& error) {
    err << "migrate --add-position " << source.name << " failed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace projectord::cli
