#pragma once
/// Waiting that shutdown cuts short: a retry delay, a poll interval. Returns after `delay`, or as soon as
/// `stop` is requested (at once when it already is); the caller asks `stop` which of the two it was.
#include <chrono>
#include <stop_token>

namespace projectord {

void sleep_unless_stopped(std::chrono::milliseconds delay, std::stop_token stop);

}  // namespace projectord
