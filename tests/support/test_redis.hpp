#pragma once
/// The throwaway Redis server scripts/test.sh starts, shared by every test running at the same time.
///
/// Contract: test_redis_url() parses the redis:// URL in PROJECTORD_TEST_REDIS and throws
/// std::runtime_error when the variable is unset or invalid; test_redis_socket() is the same server's Unix
/// socket path from PROJECTORD_TEST_REDIS_SOCKET and throws when that is unset; unique_redis_name() returns a key or
/// user name no other test (in this process or another) uses, so tests side by side never see each other's data.
#include <string>
#include <string_view>

#include "base/redis/url.hpp"

namespace projectord::testing {

redis::RedisUrl test_redis_url();
std::string test_redis_socket();

/// `prefix` followed by the process id, a counter and a random salt, e.g. "stream:4711:3:9f2c".
std::string unique_redis_name(std::string_view prefix);

}  // namespace projectord::testing
