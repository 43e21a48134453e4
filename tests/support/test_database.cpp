#include "tests/support/test_database.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include "base/postgres/identifier.hpp"

namespace projectord::testing {
namespace {

std::string quote_conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

// Re-emits a connection string (keyword/value or URI) as keyword/value pairs with dbname replaced.
std::string with_dbname(const std::string& conninfo, const std::string& dbname) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    throw std::runtime_error("the test server's url is not a valid connection string: " + message);
  }
  std::string out;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || std::string_view(option->keyword) == "dbname") continue;
    out += option->keyword;
    out += '=';
    out += quote_conninfo_value(option->val);
    out += ' ';
  }
  PQconninfoFree(options);
  return out + "dbname=" + quote_conninfo_value(dbname);
}

std::string unique_database_name() {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}() & 0xffffu;
  return "projectord_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" + std::to_string(salt);
}

}  // namespace

namespace {

std::string shared_server() {
  const char* server = std::getenv("PROJECTORD_TEST_PG");
  if (server == nullptr || *server == '\0') {
    throw std::runtime_error("PROJECTORD_TEST_PG is not set: run ./scripts/test.sh");
  }
  return server;
}

}  // namespace

TestDatabase::TestDatabase() : TestDatabase(shared_server()) {}

std::string TestDatabase::pooled_url() const {
  const char* pooler = std::getenv("PROJECTORD_TEST_PGBOUNCER");
  if (pooler == nullptr || *pooler == '\0') {
    throw std::runtime_error("PROJECTORD_TEST_PGBOUNCER is not set: run ./scripts/test.sh");
  }
  return with_dbname(pooler, name_);
}

TestDatabase::TestDatabase(std::string server_url) : admin_url_(std::move(server_url)) {
  name_ = unique_database_name();
  url_ = with_dbname(admin_url_, name_);
  pqxx::connection admin(admin_url_);
  pqxx::nontransaction txn(admin);
  txn.exec("CREATE DATABASE " + postgres::quote_identifier(name_));
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction txn(admin);
    txn.exec("DROP DATABASE IF EXISTS " + postgres::quote_identifier(name_) + " WITH (FORCE)");
  } catch (...) {
    // A destructor must not throw; the server is thrown away at the end of the run anyway.
  }
}

std::pair<std::string, unsigned short> TestDatabase::server_address() const {
  std::string host = "127.0.0.1";
  unsigned short port = 5432;
  PQconninfoOption* options = PQconninfoParse(url_.c_str(), nullptr);
  if (options == nullptr) throw std::runtime_error("the test server's URL is not a conninfo string");
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    if (std::string(option->keyword) == "host") host = option->val;
    if (std::string(option->keyword) == "port") port = static_cast<unsigned short>(std::stoi(option->val));
  }
  PQconninfoFree(options);
  return {host, port};
}

std::unique_ptr<pqxx::connection> TestDatabase::connect() const { return std::make_unique<pqxx::connection>(url_); }

void TestDatabase::exec(const std::string& sql) const {
  pqxx::connection conn(url_);
  pqxx::work txn(conn);
  txn.exec(sql);
  txn.commit();
}

std::string TestDatabase::query_value(const std::string& sql) const {
  pqxx::connection conn(url_);
  pqxx::work txn(conn);
  const pqxx::result result = txn.exec(sql);
  txn.commit();
  if (result.empty() || result.columns() == 0 || result[0][0].is_null()) return "";
  return result[0][0].c_str();
}

std::int64_t TestDatabase::query_int(const std::string& sql) const {
  const std::string text = query_value(sql);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    throw std::runtime_error("expected an integer from `" + sql + "`, got '" + text + "'");
  }
  return value;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

}  // namespace projectord::testing
