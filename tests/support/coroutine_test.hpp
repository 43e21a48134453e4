#pragma once
/// Runs a test written as a coroutine: on a fresh io_context on the calling thread, under a deadline.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <functional>

namespace projectord::testing {

/// Runs `test`; rethrows what it threw, and fails when it has not ended within `deadline`.
inline void run_coroutine(const std::function<boost::asio::awaitable<void>(boost::asio::io_context&)>& test,
                          std::chrono::seconds deadline = std::chrono::seconds(20)) {
  boost::asio::io_context io;
  bool finished = false;
  std::exception_ptr error;
  boost::asio::co_spawn(io, test(io), [&](std::exception_ptr e) {
    finished = true;
    error = std::move(e);
  });
  io.run_for(deadline);
  if (error) std::rethrow_exception(error);
  if (!finished) FAIL("the test did not finish within " << deadline.count() << " s");
}

}  // namespace projectord::testing
