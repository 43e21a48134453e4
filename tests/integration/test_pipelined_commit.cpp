// A live transaction's end in one round trip (base/postgres/pipelined_commit.hpp): the checkpoint's move goes
// out with the COMMIT (CheckpointStore::commit_advance), so the check that the row was still where this
// process left it runs on the server. A failure there, in another statement queued for the commit or in the
// COMMIT itself commits nothing and leaves the connection ready for the next transaction.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "base/postgres/pipelined_commit.hpp"
#include "checkpoints/checkpoint_store.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/test_database.hpp"

using namespace projectord;
using projectord::testing::install_projectord_schema;
using projectord::testing::TestDatabase;

namespace {

const std::string kPipelinedLog = "pipelined_log";

// A handler's read model and checkpoint row on a fresh database, and the target connection a lane would use.
struct Target {
  explicit Target(postgres::Pooling pooling = postgres::Pooling::session) {
    db.exec("CREATE TABLE pipelined_log (position bigint PRIMARY KEY)");
    install_projectord_schema(db);
    connection = db.connect();
    checkpoint.prepare(*connection, pooling);
    checkpoint.load(*connection);
  }

  // A transaction that writes `position` to the read model.
  std::unique_ptr<postgres::PipelinedCommit> writing(Position position) const {
    auto txn = std::make_unique<postgres::PipelinedCommit>(*connection);
    txn->exec_params0("INSERT INTO pipelined_log VALUES ($1)", position);
    return txn;
  }

  std::int64_t stored_checkpoint() const {
    return db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = '" + kPipelinedLog + "'");
  }
  std::int64_t written() const { return db.query_int("SELECT count(*) FROM pipelined_log"); }

  TestDatabase db;
  checkpoints::CheckpointStore checkpoint{kPipelinedLog, "scripted"};
  std::unique_ptr<pqxx::connection> connection;
};

}  // namespace

TEST_CASE("commit_advance commits the transaction's writes and the checkpoint's move together") {
  Target target;
  auto txn = target.writing(1);
  target.checkpoint.commit_advance(*txn, 0, 1, 1, {{5, 1234}});
  CHECK(target.stored_checkpoint() == 1);
  CHECK(target.written() == 1);
  CHECK(target.db.query_value("SELECT holes::text FROM projectord.checkpoints") == R"({"5": 1234})");
  CHECK(target.db.query_int("SELECT events_applied FROM projectord.checkpoints") == 1);
}

TEST_CASE("behind a transaction pooler the checkpoint's move goes out with the COMMIT as text, prepared nowhere") {
  Target target(postgres::Pooling::transaction);
  auto txn = target.writing(1);
  target.checkpoint.commit_advance(*txn, 0, 1, 1, {});
  CHECK(target.stored_checkpoint() == 1);
  CHECK(target.written() == 1);
  pqxx::work after(*target.connection);
  CHECK(after.exec1("SELECT count(*) FROM pg_prepared_statements")[0].as<int>() == 0);
}

TEST_CASE("a checkpoint another process moved fails commit_advance and nothing of the transaction commits") {
  Target target;
  target.db.exec("UPDATE projectord.checkpoints SET position = 7");
  auto txn = target.writing(8);
  CHECK_THROWS_AS(target.checkpoint.commit_advance(*txn, 0, 8, 1, {}), checkpoints::CheckpointMoved);
  txn.reset();
  CHECK(target.stored_checkpoint() == 7);
  CHECK(target.written() == 0);

  // The connection is out of the aborted transaction: the next one, from where the row is, commits.
  auto next = target.writing(8);
  target.checkpoint.commit_advance(*next, 7, 8, 1, {});
  CHECK(target.stored_checkpoint() == 8);
  CHECK(target.written() == 1);
}

TEST_CASE("a statement queued for the commit that fails rolls the transaction back and is named") {
  Target target;
  postgres::StatementSet statements;
  statements.add("insert_log", "INSERT INTO pipelined_log VALUES ($1::bigint)");
  statements.prepare(*target.connection, postgres::Pooling::session);
  auto txn = target.writing(1);
  txn->on_commit(statements["insert_log"], {std::string("2")});
  txn->on_commit(statements["insert_log"], {std::string("1")});  // the row the transaction wrote: a unique violation
  txn->on_commit(statements["insert_log"], {std::string("3")});
  try {
    txn->commit();
    FAIL("the commit went through");
  } catch (const postgres::FailedBeforeCommit& failed) {
    CHECK(failed.index == 1);
    CHECK(failed.sqlstate() == "23505");
  }
  txn.reset();
  CHECK(target.written() == 0);
  pqxx::work after(*target.connection);
  CHECK(after.exec1("SELECT count(*) FROM pipelined_log")[0].as<int>() == 0);
}

TEST_CASE("a value holding a NUL byte fails the commit instead of being stored cut short") {
  Target target;
  target.db.exec("ALTER TABLE pipelined_log ADD COLUMN note text");
  postgres::StatementSet statements;
  statements.add("insert_note", "INSERT INTO pipelined_log VALUES ($1::bigint, $2)");
  statements.prepare(*target.connection, postgres::Pooling::session);
  auto txn = target.writing(1);
  txn->on_commit(statements["insert_note"], {std::string("2"), std::string("cut\0short", 9)});
  try {
    txn->commit();
    FAIL("the commit went through");
  } catch (const pqxx::data_exception& failed) {
    CHECK(failed.sqlstate() == "22021");
    CHECK_THAT(failed.what(), Catch::Contains("0x00 in parameter $2"));
  }
  txn.reset();
  CHECK(target.written() == 0);
  auto next = target.writing(1);
  target.checkpoint.commit_advance(*next, 0, 1, 1, {});
  CHECK(target.written() == 1);
}

TEST_CASE("a COMMIT that fails is reported as the server's error and leaves the connection usable") {
  Target target;
  target.db.exec(
      "ALTER TABLE pipelined_log ADD COLUMN twin bigint, ADD CONSTRAINT one_twin UNIQUE (twin) DEFERRABLE INITIALLY "
      "DEFERRED");
  auto txn = std::make_unique<postgres::PipelinedCommit>(*target.connection);
  txn->exec("INSERT INTO pipelined_log VALUES (1, 9), (2, 9)");  // checked at the COMMIT
  try {
    target.checkpoint.commit_advance(*txn, 0, 2, 2, {});
    FAIL("the commit went through");
  } catch (const postgres::FailedBeforeCommit&) {
    FAIL("the COMMIT's failure was blamed on the checkpoint's move");
  } catch (const pqxx::sql_error& failed) {
    CHECK(failed.sqlstate() == "23505");
  }
  txn.reset();
  CHECK(target.stored_checkpoint() == 0);
  CHECK(target.written() == 0);
  auto next = target.writing(1);
  target.checkpoint.commit_advance(*next, 0, 1, 1, {});
  CHECK(target.stored_checkpoint() == 1);
}
