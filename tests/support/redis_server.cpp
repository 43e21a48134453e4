#include "tests/support/redis_server.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace projectord::testing {

namespace {

std::string make_redis_dir() {
  static std::atomic<int> counter{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("projectord-redis-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

RedisServer::RedisServer() : dir_(make_redis_dir()), socket_(dir_ + "/redis.sock") { start(); }

RedisServer::~RedisServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void RedisServer::start() {
  process_ = std::make_unique<DaemonProcess>(std::vector<std::string>{
      "redis-server", "--port", "0", "--unixsocket", socket_, "--unixsocketperm", "700", "--dir", dir_,
      "--appendonly", "yes", "--appendfsync", "always", "--save", ""});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (cli({"PING"}) != "PONG") {
    if (!process_->running() || std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("redis-server did not start: " + process_->log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void RedisServer::stop() {
  if (!process_) return;
  (void)run_command({"redis-cli", "-s", socket_, "SHUTDOWN"}, {}, std::chrono::seconds(20));
  (void)process_->wait_exit(std::chrono::seconds(20));
  process_.reset();
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> command{"redis-cli", "-s", socket_};
  command.insert(command.end(), args.begin(), args.end());
  std::string output = run_command(command, {}, std::chrono::seconds(20)).output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

}  // namespace projectord::testing
