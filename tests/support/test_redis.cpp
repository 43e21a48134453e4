#include "tests/support/test_redis.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>

namespace projectord::testing {

redis::RedisUrl test_redis_url() {
  const char* server = std::getenv("PROJECTORD_TEST_REDIS");
  if (server == nullptr || *server == '\0') {
    throw std::runtime_error("PROJECTORD_TEST_REDIS is not set: run ./scripts/test.sh");
  }
  auto url = redis::parse_redis_url(server);
  if (!url) throw std::runtime_error("PROJECTORD_TEST_REDIS: " + url.error());
  return *url;
}

std::string test_redis_socket() {
  const char* socket = std::getenv("PROJECTORD_TEST_REDIS_SOCKET");
  if (socket == nullptr || *socket == '\0') {
    throw std::runtime_error("PROJECTORD_TEST_REDIS_SOCKET is not set: run ./scripts/test.sh");
  }
  return socket;
}

std::string unique_redis_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}() & 0xffffu;
  return std::string(prefix) + ":" + std::to_string(::getpid()) + ":" + std::to_string(++counter) + ":" +
         std::to_string(salt);
}

}  // namespace projectord::testing
