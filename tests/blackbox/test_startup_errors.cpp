// `projectord run` against a database it may not use: a start-up error other than an unreachable server is
// one clear log line and exit code 1.
#include <catch2/catch.hpp>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;
using namespace projectord::testing::blackbox;

namespace {

// A role with LOGIN and nothing else: it connects (PUBLIC's CONNECT) but may not use the projectord schema,
// which `migrate` created as the superuser. Roles belong to the server, so it is dropped again.
class LoginOnlyRole {
 public:
  explicit LoginOnlyRole(const TestDatabase& db) : db_(db), name_(db.name() + "_login_only") {
    db_.exec("CREATE ROLE " + name_ + " LOGIN");
  }
  ~LoginOnlyRole() {
    try {
      db_.exec("DROP ROLE IF EXISTS " + name_);
    } catch (const std::exception& error) {
      WARN("could not drop role " << name_ << ": " << error.what());
    }
  }
  LoginOnlyRole(const LoginOnlyRole&) = delete;
  LoginOnlyRole& operator=(const LoginOnlyRole&) = delete;

  const std::string& name() const { return name_; }

 private:
  const TestDatabase& db_;
  std::string name_;
};

}  // namespace

TEST_CASE("run exits 1 naming the error when its role may not use the projectord schema") {
  TestDatabase db;
  write_events(db, 3);
  const std::string config = migrated(db, "login_only.toml", demo_config());
  const LoginOnlyRole role(db);

  // A later keyword of a connection string overrides an earlier one.
  const auto result =
      run_command({kBinary, "--config", config, "run"}, {{"TEST_DATABASE_URL", db.url() + " user=" + role.name()}}, 60s);

  INFO(result.output);
  CHECK_FALSE(result.timed_out);
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("event=startup_failed error=\"ERROR:  permission denied for schema projectord") !=
        std::string::npos);
  CHECK(result.output.find("terminate called") == std::string::npos);
}
