#include "bench/catchup/io_floor.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace projectord::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct ConnectionDeleter {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using Connection = std::unique_ptr<PGconn, ConnectionDeleter>;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

[[noreturn]] void fail(PGconn* connection, const std::string& what) {
  throw std::runtime_error("I/O floor: " + what + ": " + PQerrorMessage(connection));
}

Connection connect(const std::string& url) {
  Connection connection(PQconnectdb(url.c_str()));
  if (PQstatus(connection.get()) != CONNECTION_OK) fail(connection.get(), "connect");
  return connection;
}

void run(PGconn* connection, const std::string& sql) {
  const Result result(PQexec(connection, sql.c_str()));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) fail(connection, sql);
}

// The statement's COPY ... TO STDOUT ends well, and how many rows it copied.
long long end_of_copy(PGconn* connection, const std::string& sql) {
  const Result result(PQgetResult(connection));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) fail(connection, sql);
  return std::stoll(PQcmdTuples(result.get()));
}

// Runs COPY ... TO STDOUT and hands each chunk of data to `take`; returns the rows copied.
template <class Take>
long long copy_out(PGconn* connection, const std::string& sql, Take take) {
  {
    const Result started(PQexec(connection, sql.c_str()));
    if (PQresultStatus(started.get()) != PGRES_COPY_OUT) fail(connection, sql);
  }
  char* chunk = nullptr;
  int size = 0;
  while ((size = PQgetCopyData(connection, &chunk, 0)) > 0) {
    take(chunk, size);
    PQfreemem(chunk);
  }
  if (size == -2) fail(connection, sql);
  return end_of_copy(connection, sql);
}

// The reference's indexes, as statements that build each on `copy`.
std::vector<std::string> indexes_for(PGconn* connection, const std::string& reference, const std::string& copy) {
  const std::string sql = "SELECT i.indisunique, pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = '" +
                          reference + "'::regclass";
  const Result result(PQexec(connection, sql.c_str()));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) fail(connection, sql);
  std::vector<std::string> statements;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    const std::string definition = PQgetvalue(result.get(), row, 1);
    const bool unique = PQgetvalue(result.get(), row, 0)[0] == 't';
    statements.push_back(std::string("CREATE ") + (unique ? "UNIQUE " : "") + "INDEX ON " + copy +
                         definition.substr(definition.find(" USING ")));
  }
  return statements;
}

void copy_in(PGconn* connection, const std::string& table, const std::string& data) {
  const std::string sql = "COPY " + table + " FROM STDIN (FORMAT binary)";
  {
    const Result started(PQexec(connection, sql.c_str()));
    if (PQresultStatus(started.get()) != PGRES_COPY_IN) fail(connection, sql);
  }
  if (PQputCopyData(connection, data.data(), static_cast<int>(data.size())) != 1) fail(connection, sql);
  if (PQputCopyEnd(connection, nullptr) != 1) fail(connection, sql);
  end_of_copy(connection, sql);
}

}  // namespace

IoFloor measure_io_floor(const std::string& url, const std::string& source_select,
                         const std::vector<FloorModel>& models) {
  const Connection connection = connect(url);
  PGconn* const pg = connection.get();
  IoFloor floor;

  const auto out_start = Clock::now();
  floor.rows_out = copy_out(pg, "COPY (" + source_select + ") TO STDOUT (FORMAT binary)", [](const char*, int) {});
  floor.rows_out_seconds = seconds_since(out_start);

  std::vector<std::string> rows(models.size());
  std::vector<std::string> indexes;
  for (std::size_t i = 0; i < models.size(); ++i) {
    floor.rows_in += copy_out(pg, "COPY " + models[i].reference + " TO STDOUT (FORMAT binary)",
                              [&](const char* chunk, int size) { rows[i].append(chunk, static_cast<std::size_t>(size)); });
    run(pg, "CREATE TABLE " + models[i].copy + " (LIKE " + models[i].reference +
                " INCLUDING ALL EXCLUDING INDEXES)");
    for (std::string& index : indexes_for(pg, models[i].reference, models[i].copy)) indexes.push_back(std::move(index));
  }
  run(pg, "CHECKPOINT");
  const auto in_start = Clock::now();
  run(pg, "BEGIN");
  for (std::size_t i = 0; i < models.size(); ++i) copy_in(pg, models[i].copy, rows[i]);
  for (const std::string& index : indexes) run(pg, index);
  run(pg, "COMMIT");
  floor.models_in_seconds = seconds_since(in_start);
  return floor;
}

}  // namespace projectord::bench
