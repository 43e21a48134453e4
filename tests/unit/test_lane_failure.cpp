// Whose fault a failed step of the lane is (daemon/lane/failure.hpp): a handler's word first, then the
// server's errors, then the event's.
#include <catch2/catch.hpp>

#include <pqxx/except>
#include <stdexcept>

#include "base/postgres/errors.hpp"
#include "checkpoints/checkpoint_store.hpp"
#include "daemon/lane/failure.hpp"

using namespace projectord;
using namespace std::chrono_literals;
using Fault = LaneFailure::Fault;

namespace {

template <class Error>
LaneFailure judged(const Error& error) {
  try {
    throw error;
  } catch (const std::exception&) {
    return judge_current_exception();
  }
}

}  // namespace

TEST_CASE("a handler that says a failure is transient is believed, whatever its message") {
  const LaneFailure failure = judged(handlers::HandlerError("receiver down", handlers::HandlerError::Fault::transient));
  CHECK(failure.transient());
  CHECK(failure.message == "receiver down");
  CHECK_FALSE(failure.permanent);
}

TEST_CASE("a handler that says a failure is the event's fault is believed") {
  const LaneFailure failure = judged(handlers::HandlerError("no such user", handlers::HandlerError::Fault::event));
  CHECK(failure.fault == Fault::event);
}

TEST_CASE("a refused delivery is the event's failure, with its permanence and Retry-After") {
  const LaneFailure refused = judged(handlers::DeliveryFailed("410 Gone", true, 0ms));
  CHECK(refused.fault == Fault::event);
  CHECK(refused.permanent);

  const LaneFailure later = judged(handlers::DeliveryFailed("429", false, 1500ms));
  CHECK(later.fault == Fault::event);
  CHECK_FALSE(later.permanent);
  CHECK(later.retry_after == 1500ms);
}

TEST_CASE("another process moving the checkpoint is a transient failure") {
  CHECK(judged(checkpoints::CheckpointMoved("checkpoint is no longer at 7")).transient());
}

TEST_CASE("a lost connection and the server's transient states are transient failures") {
  CHECK(judged(pqxx::broken_connection("server closed the connection")).transient());
  CHECK(judged(pqxx::sql_error("deadlock detected", "UPDATE", "40P01")).transient());
  CHECK(judged(pqxx::sql_error("the database system is shutting down", "SELECT 1", "57P03")).transient());
}

TEST_CASE("the server's other errors and every other exception are the event's failures") {
  CHECK(judged(pqxx::sql_error("duplicate key value", "INSERT", "23505")).fault == Fault::event);
  CHECK(judged(std::runtime_error("bad payload")).fault == Fault::event);
}

TEST_CASE("a failure message over several lines becomes one line without trailing blanks") {
  CHECK(judged(std::runtime_error("ERROR:  boom\nCONTEXT:  here\n \n")).message == "ERROR:  boom CONTEXT:  here");
  CHECK(projectord::postgres::one_line("ok") == "ok");
}

TEST_CASE("a missing privilege or object is not judged but thrown on: no event is at fault, no retry mends it") {
  CHECK_THROWS_AS(judged(pqxx::sql_error("permission denied for table users", "INSERT", "42501")), pqxx::sql_error);
  CHECK_THROWS_AS(judged(pqxx::sql_error("relation \"users\" does not exist", "INSERT", "42P01")), pqxx::sql_error);
}
