#pragma once
/// A fresh PostgreSQL database per test, on the throwaway server scripts/test.sh starts.
///
/// Contract: the constructor creates a uniquely named database on the server that the environment variable
/// PROJECTORD_TEST_PG names (a libpq connection string or URI with superuser rights, e.g.
/// "host=127.0.0.1 port=5433 user=postgres dbname=postgres") and throws std::runtime_error when the variable
/// is unset or the server cannot be reached; the destructor drops the database WITH (FORCE), ending any
/// connection a test (or a daemon under test) left open. Names are unique across processes, so ctest -j
/// runs tests side by side. Every helper opens its own short-lived connection.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>

namespace projectord::testing {

class TestDatabase {
 public:
  TestDatabase();
  /// The same on the server `server_url` names (a superuser's conninfo), e.g. a PostgresServer of the test's own.
  explicit TestDatabase(std::string server_url);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  /// Database name, e.g. "projectord_test_4711_3_9f2c".
  const std::string& name() const { return name_; }
  /// Keyword/value connection string of the new database (the server's, with dbname replaced).
  const std::string& url() const { return url_; }
  /// The same database through the pgbouncer scripts/test.sh starts in transaction pooling in front of the
  /// server (PROJECTORD_TEST_PGBOUNCER, which must be in front of PROJECTORD_TEST_PG's); throws when it is unset.
  std::string pooled_url() const;

  /// Host and port of the server, for what must reach it over TCP (a proxy in front of it).
  std::pair<std::string, unsigned short> server_address() const;

  std::unique_ptr<pqxx::connection> connect() const;
  /// Runs `sql` (one or more statements) in its own transaction and commits it.
  void exec(const std::string& sql) const;
  /// First column of the first row as text; "" when that value is NULL or there is no row.
  std::string query_value(const std::string& sql) const;
  /// First column of the first row as an integer; throws (naming the query) on NULL, no row or non-integer.
  std::int64_t query_int(const std::string& sql) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

/// Polls `condition` every `step` until it returns true (-> true) or `deadline` has passed (-> false, after a
/// last try). The only way tests wait for asynchronous effects: never a fixed sleep.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline = std::chrono::seconds(20),
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

}  // namespace projectord::testing
