// When a lane builds its handler's reader indexes (daemon/lane/reader_indexes.hpp): at once in a session that
// starts further on, only once caught up in a build from position 0, never for a handler without any.
#include <catch2/catch.hpp>

#include "daemon/lane/reader_indexes.hpp"

using namespace projectord;

namespace {

std::vector<handlers::ReaderIndex> one_index() {
  return {{"user_projection", "user_projection_email_reader", {"email"}}};
}

}  // namespace

TEST_CASE("reader indexes are due at once in a session that starts past position 0") {
  ReaderIndexes indexes("users", one_index());
  CHECK(indexes.start_session(42));
}

TEST_CASE("in a build from position 0, reader indexes are due only once the lane has caught up") {
  ReaderIndexes indexes("users", one_index());
  CHECK_FALSE(indexes.start_session(0));
  CHECK(indexes.due_once_caught_up());
}

TEST_CASE("a handler without reader indexes has none due, wherever its session starts") {
  ReaderIndexes indexes("log", {});
  CHECK_FALSE(indexes.start_session(0));
  CHECK_FALSE(indexes.due_once_caught_up());
  CHECK_FALSE(indexes.start_session(42));
  CHECK_FALSE(indexes.due_once_caught_up());
}
