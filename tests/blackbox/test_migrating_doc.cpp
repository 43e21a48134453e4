// docs/migrating-from-celery.md, followed as a team would: every `sh` block of it runs, in order, each in a
// shell of its own in one directory, against the Django guide's EventStoreRecord store (users_eventstorerecord),
// the user_projection its Celery task made from those events, and a Redis broker. The blocks check themselves
// (check-config, verify, the comparison exit non-zero on a difference); between them the test checks what the
// doc promises of the welcome email: nothing queued for the history, one task for a registration after it.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/free_port.hpp"
#include "tests/support/store_schemas.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::event_store_record_ddl;
using projectord::testing::eventually;
using projectord::testing::run_command;
using projectord::testing::RunResult;
using projectord::testing::TestDatabase;

namespace {

// The doc's `sh` blocks, in order.
std::vector<std::string> shell_blocks(const std::string& path) {
  std::ifstream file(path);
  REQUIRE(file);
  std::vector<std::string> blocks;
  std::string line;
  bool inside = false;
  while (std::getline(file, line)) {
    if (!inside && line == "```sh") {
      inside = true;
      blocks.emplace_back();
    } else if (inside && line == "```") {
      inside = false;
    } else if (inside) {
      blocks.back() += line + "\n";
    }
  }
  return blocks;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Forty users of the Django guide registering, a third changing their email and every seventh leaving,
// as its User aggregate writes them through the EventStoreRecord model (aggregate ids are integers there).
const char* kHistory =
    "INSERT INTO users_eventstorerecord (aggregate_id, event_id, event_type, event_data, version, occurred_at)"
    " SELECT n, gen_random_uuid()::text, 'UserRegistered', jsonb_build_object('username', 'user' || n, 'email',"
    " 'user' || n || '@example.com', 'first_name', 'First' || n, 'last_name', 'Last' || n), 1, now()"
    " FROM generate_series(1, 40) n;"
    "INSERT INTO users_eventstorerecord (aggregate_id, event_id, event_type, event_data, version, occurred_at)"
    " SELECT n, gen_random_uuid()::text, 'UserEmailChanged', jsonb_build_object('new_email', 'new' || n ||"
    " '@example.com'), 2, now() FROM generate_series(3, 40, 3) n;"
    "INSERT INTO users_eventstorerecord (aggregate_id, event_id, event_type, event_data, version, occurred_at)"
    " SELECT n, gen_random_uuid()::text, 'UserDeactivated', jsonb_build_object('reason', 'left'), 3, now()"
    " FROM generate_series(7, 40, 7) n;";

// The guide's UserProjection as Django's migration creates it, filled with what its Celery task made of the
// history above.
const char* kCeleryReadModel =
    "CREATE TABLE user_projection (id bigserial PRIMARY KEY, user_id varchar(255) NOT NULL UNIQUE,"
    " username varchar(150) NOT NULL UNIQUE, email varchar(254) NOT NULL, first_name varchar(30) NOT NULL,"
    " last_name varchar(30) NOT NULL, phone varchar(20) NOT NULL, is_active boolean NOT NULL,"
    " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, deactivated_at timestamptz NULL,"
    " current_version integer NOT NULL CHECK (current_version >= 0),"
    " last_event_processed integer NOT NULL CHECK (last_event_processed >= 0));"
    "INSERT INTO user_projection (user_id, username, email, first_name, last_name, phone, is_active, created_at,"
    " updated_at, current_version, last_event_processed)"
    " SELECT r.aggregate_id::text, r.event_data->>'username', coalesce(c.event_data->>'new_email',"
    " r.event_data->>'email'), r.event_data->>'first_name', r.event_data->>'last_name', '', d.id IS NULL,"
    " r.occurred_at, now(), 1, 0 FROM users_eventstorerecord r"
    " LEFT JOIN users_eventstorerecord c ON c.aggregate_id = r.aggregate_id AND c.event_type = 'UserEmailChanged'"
    " LEFT JOIN users_eventstorerecord d ON d.aggregate_id = r.aggregate_id AND d.event_type = 'UserDeactivated'"
    " WHERE r.event_type = 'UserRegistered'";

// The directory the doc's blocks run in, and the daemon they start in the background there (its pid in
// projectord.pid), which outlives the block's shell. The test adopts it (a subreaper: the orphan becomes its
// child), and stops and reaps it when the test ends, however it ends, before the directory goes.
class DocWorkspace {
 public:
  explicit DocWorkspace(std::filesystem::path directory) : directory_(std::move(directory)) {
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  ~DocWorkspace() {
    stop_daemon();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  DocWorkspace(const DocWorkspace&) = delete;
  DocWorkspace& operator=(const DocWorkspace&) = delete;

  const std::filesystem::path& directory() const { return directory_; }

 private:
  void stop_daemon() {
    std::ifstream file(directory_ / "projectord.pid");
    pid_t pid = 0;
    if (!(file >> pid) || pid <= 0) return;
    ::kill(pid, SIGTERM);
    if (!eventually([&] { return ::waitpid(pid, nullptr, WNOHANG) != 0; }, 30s)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }

  std::filesystem::path directory_;
};

}  // namespace

TEST_CASE(
    "every command of docs/migrating-from-celery.md runs against the Django guide's store and its Celery-made"
    " read model, and the welcome email is queued only for a user who registers after the switch") {
  TestDatabase db;
  db.exec(event_store_record_ddl("users") + kHistory + kCeleryReadModel);
  const char* redis = std::getenv("PROJECTORD_TEST_REDIS");
  REQUIRE(redis != nullptr);
  // A database of its own: the doc's handler queues on Celery's default queue, `celery`.
  const std::string broker = std::string(redis) + "/9";
  REQUIRE(run_command({"redis-cli", "-u", broker, "DEL", "celery"}).exit_code == 0);

  std::vector<std::string> blocks = shell_blocks(PROJECTORD_SOURCE_DIR "/docs/migrating-from-celery.md");
  REQUIRE(blocks.size() == 7);
  const std::string listen = "127.0.0.1:" + std::to_string(projectord::testing::free_loopback_port());
  for (std::string& block : blocks) replace_all(block, "127.0.0.1:9464", listen);

  const DocWorkspace workspace(std::filesystem::temp_directory_path() /
                               ("projectord-migrating-doc-" + std::to_string(::getpid())));
  const std::filesystem::path& directory = workspace.directory();
  const std::string path = std::filesystem::path(kBinary).parent_path().string() + ":" + std::getenv("PATH");
  const std::map<std::string, std::string> env{
      {"DATABASE_URL", db.url()}, {"CELERY_BROKER_URL", broker}, {"PATH", path}};
  const auto queued = [&] {
    const RunResult length = run_command({"redis-cli", "-u", broker, "LLEN", "celery"});
    REQUIRE(length.exit_code == 0);
    return std::stoi(length.output);
  };

  for (std::size_t i = 0; i < blocks.size(); ++i) {
    INFO("block " << i + 1 << ":\n" << blocks[i]);
    const RunResult ran =
        run_command({"bash", "-euo", "pipefail", "-c", "cd \"$0\"\n" + blocks[i], directory.string()}, env);
    INFO(ran.output);
    REQUIRE(ran.exit_code == 0);
    if (blocks[i].find("[handlers.welcome_email]") == std::string::npos) continue;

    // The side effect started at the head: the history welcomed no one, a new registration is queued once.
    CHECK(queued() == 0);
    db.exec(
        "INSERT INTO users_eventstorerecord (aggregate_id, event_id, event_type, event_data, version, occurred_at)"
        " VALUES (41, gen_random_uuid()::text, 'UserRegistered', '{\"username\": \"user41\", \"email\":"
        " \"user41@example.com\"}', 1, now())");
    CHECK(eventually([&] { return queued() == 1; }));
    const RunResult message = run_command({"redis-cli", "-u", broker, "LINDEX", "celery", "0"});
    CHECK(message.output.find("users.tasks.send_welcome_email") != std::string::npos);
  }
  CHECK(db.query_int("SELECT count(*) FROM user_projection_next") == 41);
  CHECK(queued() == 1);
}
