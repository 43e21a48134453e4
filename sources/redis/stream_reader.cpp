#include "sources/redis/stream_reader.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "base/drive_io.hpp"
#include "base/redis/client.hpp"
#include "base/redis/url.hpp"

namespace projectord::sources {

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

// How soon CLIENT UNBLOCK is sent again when it found the read not blocked yet (see unblock()).
constexpr auto kUnblockRetry = 1ms;
// How many pending entries one XPENDING lists and one XCLAIM takes over.
constexpr std::size_t kClaimPage = 1000;

}  // namespace

struct RedisStreamReader::State {
  State(config::RedisSource source_in, std::string group_in, std::string consumer_in)
      : source(std::move(source_in)),
        group(std::move(group_in)),
        consumer(std::move(consumer_in)),
        url(redis::parse_redis_url(source.url)),
        server(url ? "redis at " + url->endpoint() : "redis") {}

  const config::RedisSource source;
  const std::string group;
  const std::string consumer;
  const Result<redis::RedisUrl> url;
  const std::string server;  // for messages, without credentials

  net::io_context io;  // declared before the clients, which must be destroyed first
  std::unique_ptr<redis::RedisClient> client;
  std::optional<std::int64_t> client_id;  // the server's id of `client`, the target of CLIENT UNBLOCK
  std::chrono::milliseconds timeout{0};

  // Touched on the calling thread only: by the calls, and by the io_context's handlers, which drive() runs.
  bool timed_out = false;   // the deadline of the current call closed the connection
  bool reading = false;     // a blocking XREADGROUP awaits its reply
  bool unblocking = false;  // unblock() runs; drive() waits for it to end
  bool closed_by_interrupt = false;  // interrupt() could not unblock the read and closed the connection
  std::unique_ptr<redis::RedisClient> unblocker;

  std::atomic<bool> interrupt_requested{false};

  template <class T>
  T drive(net::awaitable<T> work, std::optional<std::chrono::milliseconds> limit);
  Result<redis::Reply> roundtrip(std::vector<std::string> args, std::chrono::milliseconds block = 0ms);
  Result<redis::Reply> command(std::vector<std::string> args, std::chrono::milliseconds block = 0ms);
  template <class Parse>
  auto parsed(const std::string& verb, redis::Reply reply, Parse parse) -> decltype(parse(redis::Reply()));
  template <class Parse>
  auto request(std::vector<std::string> args, Parse parse, std::chrono::milliseconds block = 0ms)
      -> decltype(parse(redis::Reply()));

  std::string context(const std::string& verb) const {
    return "source " + source.name + ", stream " + source.stream + ": " + verb + ": ";
  }
  Failure refused(const std::string& verb, const redis::Reply& reply) const {
    return fail(context(verb) + server + " answered " + reply.text);
  }

  void on_interrupt();
  void close_for_interrupt() {
    closed_by_interrupt = true;
    client->close();
  }
  net::awaitable<void> unblock(std::int64_t target);
};

// Runs the io_context on this thread until `work` has completed and no unblock() is left running, so that
// nothing outlives the call that started it. `limit` bounds the wait: then the connections are closed, which
// completes everything in flight.
template <class T>
T RedisStreamReader::State::drive(net::awaitable<T> work, std::optional<std::chrono::milliseconds> limit) {
  std::optional<T> result;
  std::exception_ptr error;
  net::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    reading = false;  // the reply is in: an interrupt now has nothing left to end
    error = std::move(e);
    result.emplace(std::move(value));
  });
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (limit) deadline = std::chrono::steady_clock::now() + *limit;
  const auto close_connections = [this] {
    if (client) client->close();
    if (unblocker) unblocker->close();
  };
  const DriveEnd end = drive_until(io, [&] { return result && !unblocking; }, deadline, close_connections);
  if (end == DriveEnd::out_of_work) {
    throw std::logic_error("redis stream reader: the io_context ran out of work in a call");
  }
  timed_out = end == DriveEnd::late;
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

// A connection failure (lost, closed, timed out) is a failure; an error reply is a Reply, for callers to judge.
Result<redis::Reply> RedisStreamReader::State::roundtrip(std::vector<std::string> args, std::chrono::milliseconds block) {
  const std::string verb = args.front();
  if (!client) return fail(context(verb) + server + ": not connected");
  const auto limit = timeout + block;
  reading = block > 0ms;
  auto reply = drive(client->command(std::move(args)), limit);
  const bool interrupted = std::exchange(closed_by_interrupt, false);
  if (reply) return reply;
  if (timed_out) {
    return fail(context(verb) + server + ": no reply within " + std::to_string(limit.count()) +
                " ms; the connection is closed");
  }
  // What CLIENT UNBLOCK makes Redis answer, as does a block that ran out: nil. The next call finds the
  // connection closed.
  if (interrupted) return redis::Reply();
  return fail(context(verb) + reply.error());
}

Result<redis::Reply> RedisStreamReader::State::command(std::vector<std::string> args, std::chrono::milliseconds block) {
  const std::string verb = args.front();
  auto reply = roundtrip(std::move(args), block);
  if (reply && reply->is_error()) return refused(verb, *reply);
  return reply;
}

template <class Parse>
auto RedisStreamReader::State::parsed(const std::string& verb, redis::Reply reply, Parse parse) -> decltype(parse(redis::Reply())) {
  auto value = parse(std::move(reply));
  if (!value) return fail(context(verb) + server + ": " + value.error());
  return value;
}

template <class Parse>
auto RedisStreamReader::State::request(std::vector<std::string> args, Parse parse, std::chrono::milliseconds block)
    -> decltype(parse(redis::Reply())) {
  const std::string verb = args.front();
  auto reply = command(std::move(args), block);
  if (!reply) return fail(reply.error());
  return parsed(verb, std::move(*reply), parse);
}

void RedisStreamReader::State::on_interrupt() {
  // Between reads the flag stays set for the next read_new, which returns at once. Already cleared, it was
  // served by a read_new that returned at once: this wake-up must not end the read after it.
  if (!reading || !interrupt_requested.exchange(false)) return;
  if (unblocking) return;
  if (!client_id) return close_for_interrupt();
  unblocking = true;
  net::co_spawn(io, unblock(*client_id), [this](std::exception_ptr error) {
    unblocking = false;
    // Nothing is rethrown out of a completion handler (it would unwind io.run() past coroutines still queued
    // on it): an unblock that failed ends the read the blunt way, as for a client with no id.
    if (error && reading) close_for_interrupt();
  });
}

// Asks the server, on a connection of its own, to end the blocked read as if its block had run out (nil), so
// the reader's connection stays usable. Held in `unblocker` so that drive()'s deadline can close it.
net::awaitable<void> RedisStreamReader::State::unblock(std::int64_t target) {
  auto connected = co_await redis::RedisClient::connect(io, *url, timeout);
  bool unblocked = false;
  if (connected) {
    unblocker = std::move(*connected);
    const std::string id = std::to_string(target);
    net::steady_timer pause(io);
    // Redis may run this before the XREADGROUP sent a moment earlier on the other connection: then it answers
    // 0 (not blocked) and the read is about to block.
    while (reading && !unblocked) {
      std::vector<std::string> args{"CLIENT", "UNBLOCK", id};
      const auto reply = co_await unblocker->command(std::move(args));
      if (!reply || reply->is_error()) break;  // e.g. the ACL user may not run CLIENT UNBLOCK
      unblocked = reply->integer == 1;
      if (!unblocked) {
        pause.expires_after(kUnblockRetry);
        co_await pause.async_wait(net::use_awaitable);
      }
    }
    unblocker.reset();
  }
  if (!unblocked && reading) close_for_interrupt();
}

RedisStreamReader::RedisStreamReader(config::RedisSource source, std::string group, std::string consumer)
    : state_(std::make_unique<State>(std::move(source), std::move(group), std::move(consumer))) {}

RedisStreamReader::~RedisStreamReader() = default;

Result<void> RedisStreamReader::connect(std::chrono::milliseconds timeout) {
  State& s = *state_;
  s.client.reset();
  s.client_id.reset();
  s.closed_by_interrupt = false;
  if (!s.url) return fail("source " + s.source.name + ": " + s.url.error());
  s.timeout = timeout;
  auto connected = s.drive(redis::RedisClient::connect(s.io, *s.url, timeout), std::nullopt);
  if (!connected) return fail("source " + s.source.name + ": " + connected.error());
  s.client = std::move(*connected);
  auto id = s.roundtrip({"CLIENT", "ID"});
  if (!id) {
    s.client.reset();
    return fail(id.error());
  }
  // An ACL user without CLIENT gets an error reply: interrupt() then closes the connection instead.
  if (id->kind == redis::Reply::Kind::integer) s.client_id = id->integer;
  return {};
}

Result<void> RedisStreamReader::ensure_group() {
  State& s = *state_;
  auto reply = s.roundtrip({"XGROUP", "CREATE", s.source.stream, s.group, s.source.start, "MKSTREAM"});
  if (!reply) return fail(reply.error());
  // An existing group keeps its own position, wherever `start` points.
  if (reply->is_error() && !reply->text.starts_with("BUSYGROUP")) return s.refused("XGROUP", *reply);
  return {};
}

Result<void> RedisStreamReader::set_group_id(StreamEntryId id) {
  State& s = *state_;
  auto reply = s.roundtrip({"XGROUP", "SETID", s.source.stream, s.group, id.text()});
  if (!reply) return fail(reply.error());
  if (reply->is_error()) return s.refused("XGROUP", *reply);
  return {};
}

Result<std::vector<StreamEntry>> RedisStreamReader::read_pending(StreamEntryId after, std::size_t count) {
  State& s = *state_;
  return s.request({"XREADGROUP", "GROUP", s.group, s.consumer, "COUNT", std::to_string(count), "STREAMS",
                    s.source.stream, after.text()},
                   parse_read);
}

Result<std::vector<StreamEntry>> RedisStreamReader::read_new(std::size_t count, std::chrono::milliseconds block) {
  State& s = *state_;
  if (s.interrupt_requested.exchange(false)) return std::vector<StreamEntry>();
  block = std::max(block, 0ms);
  std::vector<std::string> args{"XREADGROUP", "GROUP", s.group, s.consumer, "COUNT", std::to_string(count)};
  if (block > 0ms) args.insert(args.end(), {"BLOCK", std::to_string(block.count())});  // BLOCK 0: forever
  args.insert(args.end(), {"STREAMS", s.source.stream, ">"});
  return s.request(std::move(args), parse_read, block);
}

Result<std::vector<StreamEntry>> RedisStreamReader::claim_idle(std::chrono::milliseconds min_idle, std::size_t count) {
  State& s = *state_;
  std::vector<StreamEntry> claimed;
  // One call scans a bounded part of the pending list (10 x COUNT entries) and may claim fewer than COUNT.
  std::optional<StreamEntryId> cursor = StreamEntryId{};
  while (cursor && claimed.size() < count) {
    auto page = s.request({"XAUTOCLAIM", s.source.stream, s.group, s.consumer, std::to_string(min_idle.count()),
                           cursor->text(), "COUNT", std::to_string(count - claimed.size())},
                          parse_claimed);
    if (!page) return fail(page.error());
    std::move(page->entries.begin(), page->entries.end(), std::back_inserter(claimed));
    cursor = page->next;
  }
  return claimed;
}

Result<std::optional<PendingEntry>> RedisStreamReader::oldest_pending_elsewhere(StreamEntryId above) {
  State& s = *state_;
  auto consumers = s.request({"XPENDING", s.source.stream, s.group}, parse_pending_consumers);
  if (!consumers) return fail(consumers.error());
  std::optional<PendingEntry> oldest;
  for (const std::string& consumer : *consumers) {
    if (consumer == s.consumer) continue;
    auto first = s.request({"XPENDING", s.source.stream, s.group, "(" + above.text(), "+", "1", consumer},
                           parse_pending_entries);
    if (!first) return fail(first.error());
    if (!first->empty() && (!oldest || first->front().id < oldest->id)) oldest = std::move(first->front());
  }
  return oldest;
}

Result<std::size_t> RedisStreamReader::claim_pending_elsewhere() {
  State& s = *state_;
  auto consumers = s.request({"XPENDING", s.source.stream, s.group}, parse_pending_consumers);
  if (!consumers) return fail(consumers.error());
  std::size_t claimed = 0;
  for (const std::string& consumer : *consumers) {
    if (consumer == s.consumer) continue;
    // Each XCLAIM empties the page it names from the other consumer's list: the next XPENDING finds the rest.
    while (true) {
      auto page = s.request({"XPENDING", s.source.stream, s.group, "-", "+", std::to_string(kClaimPage), consumer},
                            parse_pending_entries);
      if (!page) return fail(page.error());
      if (page->empty()) break;
      std::vector<std::string> args{"XCLAIM", s.source.stream, s.group, s.consumer, "0"};
      args.reserve(args.size() + page->size() + 1);
      for (const PendingEntry& entry : *page) args.push_back(entry.id.text());
      args.emplace_back("JUSTID");
      if (auto reply = s.command(std::move(args)); !reply) return fail(reply.error());
      claimed += page->size();
      if (page->size() < kClaimPage) break;
    }
  }
  return claimed;
}

Result<std::vector<std::string>> RedisStreamReader::forget_idle_consumers(std::chrono::milliseconds min_idle) {
  State& s = *state_;
  auto consumers = s.request({"XINFO", "CONSUMERS", s.source.stream, s.group}, parse_group_consumers);
  if (!consumers) return fail(consumers.error());
  std::vector<std::string> forgotten;
  for (GroupConsumer& consumer : *consumers) {
    if (consumer.name == s.consumer || consumer.pending > 0 || consumer.idle < min_idle) continue;
    if (auto reply = s.command({"XGROUP", "DELCONSUMER", s.source.stream, s.group, consumer.name}); !reply) {
      return fail(reply.error());
    }
    forgotten.push_back(std::move(consumer.name));
  }
  return forgotten;
}

Result<void> RedisStreamReader::ack(std::span<const StreamEntryId> ids) {
  if (ids.empty()) return {};
  State& s = *state_;
  std::vector<std::string> args{"XACK", s.source.stream, s.group};
  args.reserve(args.size() + ids.size());
  for (const auto& id : ids) args.push_back(id.text());
  auto reply = s.command(std::move(args));
  if (!reply) return fail(reply.error());
  return {};
}

Result<std::vector<StreamEntry>> RedisStreamReader::range_after(StreamEntryId after, std::size_t count) {
  State& s = *state_;
  return s.request({"XRANGE", s.source.stream, "(" + after.text(), "+", "COUNT", std::to_string(count)}, parse_entries);
}

Result<StreamInfo> RedisStreamReader::info() {
  State& s = *state_;
  auto reply = s.roundtrip({"XINFO", "STREAM", s.source.stream});
  if (!reply) return fail(reply.error());
  if (reply->is_error()) {
    // Nothing was ever added (XADD and XGROUP CREATE MKSTREAM make the key), or the key was deleted.
    if (reply->text.find("no such key") != std::string::npos) return StreamInfo{};
    return s.refused("XINFO", *reply);
  }
  return s.parsed("XINFO", std::move(*reply), parse_stream_info);
}

Result<std::optional<std::int64_t>> RedisStreamReader::group_lag() {
  State& s = *state_;
  const std::string group = s.group;
  return s.request({"XINFO", "GROUPS", s.source.stream},
                   [&group](redis::Reply reply) { return parse_group_lag(std::move(reply), group); });
}

void RedisStreamReader::interrupt() {
  state_->interrupt_requested = true;
  net::post(state_->io, [state = state_.get()] { state->on_interrupt(); });
}

}  // namespace projectord::sources
