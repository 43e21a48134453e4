// The lane's writer thread (daemon/lane/background_writer.hpp), with plain functions for writes.
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "daemon/lane/background_writer.hpp"

using projectord::BackgroundWriter;

TEST_CASE("the background writer runs every write on one thread of its own, kept between writes") {
  BackgroundWriter writer;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 3; ++i) {
    writer.start([&] { threads.push_back(std::this_thread::get_id()); });
    REQUIRE(writer.wait() == nullptr);
  }
  REQUIRE(threads.size() == 3);
  CHECK(threads[0] != std::this_thread::get_id());
  CHECK(threads[1] == threads[0]);
  CHECK(threads[2] == threads[0]);
}

TEST_CASE("the background writer's writes end in the order they were started") {
  BackgroundWriter writer;
  std::vector<int> written;
  for (int i = 1; i <= 50; ++i) {
    writer.start([&written, i] { written.push_back(i); });
    REQUIRE(writer.wait() == nullptr);
  }
  std::vector<int> expected;
  for (int i = 1; i <= 50; ++i) expected.push_back(i);
  CHECK(written == expected);
}

TEST_CASE("the background writer is busy from a start until the write is collected, while the caller goes on") {
  BackgroundWriter writer;
  CHECK_FALSE(writer.busy());
  std::atomic<bool> release = false;
  std::atomic<bool> wrote = false;
  writer.start([&] {
    while (!release) std::this_thread::yield();
    wrote = true;
  });
  CHECK(writer.busy());
  CHECK_FALSE(wrote);  // the write waits for the caller, who is not blocked by it
  release = true;
  CHECK(writer.wait() == nullptr);
  CHECK(wrote);
  CHECK_FALSE(writer.busy());
}

TEST_CASE("the background writer hands what a write threw to the caller, once") {
  BackgroundWriter writer;
  writer.start([] { throw std::runtime_error("duplicate key"); });
  const std::exception_ptr failed = writer.wait();
  REQUIRE(failed != nullptr);
  CHECK_THROWS_WITH(std::rethrow_exception(failed), "duplicate key");
  CHECK(writer.wait() == nullptr);

  writer.start([] {});
  CHECK(writer.wait() == nullptr);  // a failure does not stick to the next write
}

TEST_CASE("the background writer with no write started has nothing to wait for") {
  BackgroundWriter writer;
  CHECK(writer.wait() == nullptr);
}

TEST_CASE("the background writer's destruction lets a write in progress finish") {
  std::atomic<bool> release = false;
  bool wrote = false;
  std::thread releaser;
  {
    BackgroundWriter writer;
    writer.start([&] {
      while (!release) std::this_thread::yield();
      wrote = true;
    });
    releaser = std::thread([&] { release = true; });
  }
  releaser.join();
  CHECK(wrote);
}
