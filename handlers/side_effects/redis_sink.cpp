#include "handlers/side_effects/redis_sink.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>

#include "base/drive_io.hpp"
#include "base/redis/url.hpp"
#include "handlers/side_effects/failure_text.hpp"

namespace projectord::handlers {

namespace net = boost::asio;

struct RedisSink::State {
  State(std::string url, std::chrono::milliseconds timeout) : url(std::move(url)), timeout(timeout) {}

  std::string url;
  std::chrono::milliseconds timeout;
  net::io_context io;
  std::unique_ptr<redis::RedisClient> client;

  // Past the deadline the connection is closed, which completes everything in flight with a failure.
  bool drive(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline) {
    const auto close = [this] {
      if (client) client->close();
    };
    return drive_until(io, done, deadline, close) == DriveEnd::in_time;
  }

  Result<void> connect(std::chrono::steady_clock::time_point deadline) {
    auto parsed = redis::parse_redis_url(url);
    if (!parsed) return fail(parsed.error());
    std::optional<Result<std::unique_ptr<redis::RedisClient>>> connected;
    net::co_spawn(io, redis::RedisClient::connect(io, *parsed, timeout),
                  [&](std::exception_ptr error, Result<std::unique_ptr<redis::RedisClient>> result) {
                    if (error) result = Result<std::unique_ptr<redis::RedisClient>>(
                                   boost::system::in_place_error,
                                   "redis at " + parsed->endpoint() + ": " + failure_text(error));
                    connected.emplace(std::move(result));
                  });
    drive([&] { return connected.has_value(); }, deadline);
    if (!connected) return fail("redis at " + parsed->endpoint() + ": no connection within the timeout");
    if (!*connected) return fail(connected->error());
    client = std::move(**connected);
    return {};
  }
};

RedisSink::RedisSink(std::string url, std::chrono::milliseconds timeout)
    : state_(std::make_unique<State>(std::move(url), timeout)) {}

RedisSink::~RedisSink() {
  if (state_->client) state_->client->close();
}

Result<void> RedisSink::check_url(const std::string& url) {
  auto parsed = redis::parse_redis_url(url);
  if (!parsed) return fail(parsed.error());
  return {};
}

std::vector<Result<redis::Reply>> RedisSink::send(std::vector<std::vector<std::string>> commands) {
  State& s = *state_;
  const auto deadline = std::chrono::steady_clock::now() + s.timeout;
  std::vector<Result<redis::Reply>> replies;
  if (!s.client) {
    if (auto connected = s.connect(deadline); !connected) {
      replies.assign(commands.size(), Result<redis::Reply>(boost::system::in_place_error, connected.error()));
      return replies;
    }
  }
  std::vector<std::optional<Result<redis::Reply>>> answers(commands.size());
  std::size_t answered = 0;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    net::co_spawn(s.io, s.client->command(std::move(commands[i])),
                  [&answers, &answered, i](std::exception_ptr error, Result<redis::Reply> reply) {
                    if (error) reply = Result<redis::Reply>(boost::system::in_place_error, failure_text(error));
                    answers[i].emplace(std::move(reply));
                    ++answered;
                  });
  }
  const bool in_time = s.drive([&] { return answered == answers.size(); }, deadline);
  bool lost = !in_time;
  replies.reserve(answers.size());
  for (auto& answer : answers) {
    if (!answer || (!*answer && !in_time)) {
      answer.emplace(boost::system::in_place_error, "no reply within " + std::to_string(s.timeout.count()) + " ms");
    }
    if (!*answer) lost = true;
    replies.push_back(std::move(*answer));
  }
  if (lost) {
    s.client->close();
    s.client.reset();
  }
  return replies;
}

}  // namespace projectord::handlers
