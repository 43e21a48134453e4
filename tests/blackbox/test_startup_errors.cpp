// `projectord run` against a database it may not use: a start-up error other than an unreachable server is
// one clear log line and exit code 1.
#include <catch2/catch.hpp>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/login_role.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::testing::run_command;
using projectord::testing::LoginRole;
using projectord::testing::TestDatabase;
using namespace projectord::testing::blackbox;

namespace {

}  // namespace

TEST_CASE("run exits 1 naming the error when its role may not use the projectord schema") {
  TestDatabase db;
  write_events(db, 3);
  const std::string config = migrated(db, "login_only.toml", demo_config());
  const LoginRole role;  // PUBLIC lets it connect, but it may not use the projectord schema migrate made

  // A later keyword of a connection string overrides an earlier one.
  const auto result =
      run_command({kBinary, "--config", config, "run"}, {{"TEST_DATABASE_URL", role.url_for(db.url())}}, 60s);

  INFO(result.output);
  CHECK_FALSE(result.timed_out);
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("event=startup_failed error=\"ERROR:  permission denied for schema projectord") !=
        std::string::npos);
  CHECK(result.output.find("terminate called") == std::string::npos);
}
