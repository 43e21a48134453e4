// The built-in users projection (handlers/users_handler.hpp) against a real PostgreSQL, transaction by
// transaction: the folds of one transaction meet rows that earlier transactions wrote, which is where the
// batch path (one UPDATE of the rows that existed, one INSERT of those that did not) can go wrong. Each test
// runs the staged writes of a catch-up's transaction and the statements a live transaction sends with its
// COMMIT.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "base/postgres/pipelined_commit.hpp"
#include "handlers/registry.hpp"
#include "tests/support/test_database.hpp"

using projectord::Event;
using projectord::testing::TestDatabase;

namespace {

Event user_event(projectord::Position position, const std::string& user, std::int64_t version, const std::string& type,
                 const std::string& data) {
  Event event;
  event.source = "shop";
  event.position = position;
  event.stream_id = user;
  event.version = version;
  event.type = "users.events:" + type;
  event.recorded_at = "2026-12-0" + std::to_string(position) + "T10:00:00Z";
  event.data = boost::json::parse(data);
  event.metadata = boost::json::object();
  return event;
}

class UsersModel {
 public:
  enum class Writes { staged, on_commit };

  UsersModel(const TestDatabase& db, Writes writes) : connection_(db.connect()), writes_(writes) {
    projectord::config::Handler config;
    config.name = "users";
    config.kind = "users";
    config.table = "user_projection";
    config.options["fold_memory"] = std::int64_t{256} << 20;
    auto made = projectord::handlers::make_projection(config);
    REQUIRE(made.has_value());
    handler_ = std::move(*made);
    pqxx::work setup(*connection_);
    for (const auto& statement : handler_->setup_sql()) setup.exec(statement.sql);
    setup.commit();
    handler_->on_connect(*connection_, projectord::postgres::Pooling::session);
  }

  /// One transaction, as a lane runs it: apply, flush, commit.
  void transaction(const std::vector<Event>& events) {
    std::unique_ptr<pqxx::work> txn;
    if (writes_ == Writes::on_commit) {
      txn = std::make_unique<projectord::postgres::PipelinedCommit>(*connection_);
    } else {
      txn = std::make_unique<pqxx::work>(*connection_);
    }
    handler_->apply(*txn, events);
    handler_->flush(*txn);
    txn->commit();
  }

 private:
  std::unique_ptr<pqxx::connection> connection_;
  Writes writes_;
  std::unique_ptr<projectord::handlers::ProjectionHandler> handler_;
};

}  // namespace

TEST_CASE(
    "in the users handler a registration of a user whose row an earlier transaction wrote overwrites it, no "
    "second row") {
  TestDatabase db;
  const auto writes = GENERATE(UsersModel::Writes::staged, UsersModel::Writes::on_commit);
  UsersModel model(db, writes);
  model.transaction({user_event(1, "ann", 1, "UserRegistered",
                                R"({"username": "ann", "email": "ann@a.example", "first_name": "Ann"})")});
  model.transaction(
      {user_event(2, "ann", 2, "UserRegistered",
                  R"({"username": "ann2", "email": "ann@b.example", "first_name": null, "last_name": "Lee"})"),
       user_event(3, "ann", 3, "UserProfileUpdated", R"({"phone": "555"})")});

  CHECK(db.query_int("SELECT count(*) FROM user_projection") == 1);
  CHECK(db.query_value("SELECT concat_ws('|', username, email, first_name, last_name, phone, is_active,"
                       " current_version, last_event_processed, created_at AT TIME ZONE 'UTC') FROM user_projection") ==
        "ann2|ann@b.example||Lee|555|t|3|3|2026-12-01 10:00:00");
}

TEST_CASE(
    "in the users handler events before a user's registration change nothing, in the transaction that registers "
    "them too") {
  TestDatabase db;
  const auto writes = GENERATE(UsersModel::Writes::staged, UsersModel::Writes::on_commit);
  UsersModel model(db, writes);
  model.transaction({user_event(1, "bob", 1, "UserEmailChanged", R"({"new_email": "early@b.example"})")});
  CHECK(db.query_int("SELECT count(*) FROM user_projection") == 0);

  model.transaction({user_event(2, "bob", 2, "UserProfileUpdated", R"({"first_name": "Early"})"),
                     user_event(3, "bob", 3, "UserRegistered", R"({"username": "bob", "email": "bob@b.example"})"),
                     user_event(4, "bob", 4, "UserDeactivated", R"({})")});
  CHECK(db.query_value("SELECT concat_ws('|', username, email, first_name, last_name, phone, is_active,"
                       " current_version, last_event_processed, deactivated_at AT TIME ZONE 'UTC')"
                       " FROM user_projection") == "bob|bob@b.example||||f|4|4|2026-12-04 10:00:00");
}

TEST_CASE("in the users handler a transaction's registrations are inserted in the order of the registrations") {
  TestDatabase db;
  const auto writes = GENERATE(UsersModel::Writes::staged, UsersModel::Writes::on_commit);
  UsersModel model(db, writes);
  model.transaction({user_event(1, "zed", 1, "UserProfileUpdated", R"({"phone": "1"})"),
                     user_event(2, "ann", 1, "UserRegistered", R"({"username": "ann", "email": "ann@a.example"})"),
                     user_event(3, "zed", 2, "UserRegistered", R"({"username": "zed", "email": "zed@z.example"})"),
                     user_event(4, "ann", 2, "UserEmailChanged", R"({"new_email": "ann@b.example"})")});
  CHECK(db.query_value("SELECT string_agg(concat_ws('|', user_id, email, phone, current_version), ',' ORDER BY id)"
                       " FROM user_projection") == "ann|ann@b.example||2,zed|zed@z.example||2");
}
