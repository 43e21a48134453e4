// bench-redis: projectord with a Redis stream as its source and Redis/HTTP side effects, each next to a
// baseline measured in the same run on the same machine:
//   catch-up     the demo's users read model built from N stream entries, against redis-benchmark's XADD rate
//   live         XADD -> row visible in user_event_log at a steady rate, against the XADD round trip itself
//   publish      redis_publish of N events through the daemon, against the same side effect driven directly
//   webhook      webhook of M events, 16 in flight, to a local receiver, against the same driven directly
#include <unistd.h>

#include <iostream>
#include <regex>
#include <string>
#include <thread>

#include "bench/support/flags.hpp"
#include "bench/support/latency.hpp"
#include "bench/support/process.hpp"
#include "bench/support/report.hpp"
#include "bench/support/store.hpp"
#include "bench/support/work_dir.hpp"
#include "base/redis/url.hpp"
#include "sources/redis/stream_entry_id.hpp"
#include "examples/user_events.hpp"
#include "handlers/side_effects/redis_publish.hpp"
#include "handlers/side_effects/redis_sink.hpp"
#include "handlers/side_effects/webhook.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace {

namespace bench = projectord::bench;
namespace handlers = projectord::handlers;
using projectord::sources::StreamEntryId;

constexpr std::string_view kUsage =
    R"(usage: bench-redis --url CONNINFO --redis URL --projectord PATH --redis-benchmark PATH [--entries N]
                   [--rate R] [--seconds S] [--webhook-events M]

Creates a fresh database `bench_redis` on the PostgreSQL server CONNINFO points at and streams of its own on
the Redis server at URL (removed at the end), then measures, each against a same-run baseline:
  catch-up  N demo user events XADDed to a stream, projected into user_projection (projectord run
            --exit-when-caught-up, whole process); baseline: redis-benchmark's XADD rate (50 clients, no
            pipelining, its defaults)
  live      R entries/s XADDed for S seconds, one per round trip; latency = row in user_event_log (NOTIFY)
            - XADD reply; baseline: the XADD round trip
  publish   the N events of the catch-up stream through a redis_publish handler; baseline: the same side
            effect's deliver() in batches of 5,000 without the daemon
  webhook   M events to a local HTTP receiver through a webhook handler, 16 in flight; baseline: the same
            side effect's deliver() without the daemon
Exits 1 when a check fails.

options:
  --url CONNINFO       libpq conninfo or URI of a server where we may create databases (required)
  --redis URL          redis://host:port of a server where we may create keys (required)
  --projectord PATH    the projectord binary (required)
  --entries N          entries of the catch-up and publish streams (default 300000)
  --rate R             live entries per second (default 1000)
  --seconds S          live phase length (default 20)
  --webhook-events M   events of the webhook phase (default 30000)
  --redis-benchmark PATH  the redis-benchmark program (required)
)";

constexpr std::size_t kChunk = 5000;

struct Stream {
  std::string key;
  projectord::Position last = 0;
};

// XADDs `count` demo events (the transcoder JSON of eventsourcing_django, as is) to `key`, pipelined.
Stream load_stream(handlers::RedisSink& redis, const std::string& key, projectord::examples::UserEventGenerator& events,
                   std::int64_t count) {
  Stream stream{key, 0};
  for (std::int64_t done = 0; done < count;) {
    std::vector<std::vector<std::string>> commands;
    for (; done < count && commands.size() < kChunk; ++done) {
      const auto event = events.next();
      commands.push_back({"XADD", key, "*", "type", event.topic, "stream_id", event.originator_id, "version",
                          std::to_string(event.originator_version), "data", event.state});
    }
    const auto replies = redis.send(std::move(commands));
    for (const auto& reply : replies) {
      if (!reply || reply->is_error()) throw std::runtime_error("XADD failed: " + (reply ? reply->text : reply.error()));
    }
    stream.last = *StreamEntryId::parse(replies.back()->text)->position();
  }
  return stream;
}

std::string redis_source(const std::string& url, const std::string& key) {
  return "[sources.events]\nkind = \"redis\"\nurl = \"" + url + "\"\nstream = \"" + key +
         "\"\ncodec = \"eventsourcing_json\"\nblock = \"100ms\"\n";
}

bench::ProjectordOptions options_for(const std::string& redis_url, const Stream& stream,
                                     std::vector<bench::HandlerConfig> handlers) {
  bench::ProjectordOptions options;
  options.source_toml = redis_source(redis_url, stream.key);
  options.head_sql = "SELECT " + std::to_string(stream.last);
  options.handlers = std::move(handlers);
  options.http_listen = "127.0.0.1:0";
  return options;
}

// redis-benchmark's XADD rate with its default 50 clients, one command per round trip.
double xadd_baseline(const std::string& program, const projectord::redis::RedisUrl& url, const std::string& key,
                     const std::string& log) {
  const auto exit = bench::run_process({program, "-h", url.host, "-p", std::to_string(url.port), "-n",
                                        "200000", "-q", "XADD", key, "*", "type", "T", "data", "{\"n\":1}"},
                                       {}, log);
  if (exit.exit_code != 0) throw std::runtime_error("redis-benchmark failed:\n" + bench::tail_of(log));
  const std::string text = bench::tail_of(log, 5);
  std::smatch match;
  static const std::regex rate(R"(([0-9.]+) requests per second)");
  std::string::const_iterator from = text.begin();
  double last = 0;
  while (std::regex_search(from, text.end(), match, rate)) {
    last = std::stod(match[1]);
    from = match[0].second;
  }
  if (last <= 0) throw std::runtime_error("no rate in redis-benchmark's output:\n" + text);
  return last;
}

// Drives a side effect directly, in batches of kChunk, and returns events per second.
double direct_rate(handlers::SideEffect& effect, projectord::examples::UserEventGenerator& events, std::int64_t count) {
  std::vector<std::vector<projectord::Event>> batches;
  for (std::int64_t done = 0; done < count;) {
    auto& batch = batches.emplace_back();
    for (; done < count && batch.size() < kChunk; ++done) {
      const auto stored = events.next();
      projectord::Event event;
      event.source = "direct";
      event.position = done + 1;
      event.stream_id = stored.originator_id;
      event.version = stored.originator_version;
      event.type = stored.topic;
      event.data = boost::json::object{{"state", stored.state}};
      event.metadata = boost::json::object();
      batch.push_back(std::move(event));
    }
  }
  const auto start = bench::Clock::now();
  for (const auto& batch : batches) {
    for (const auto& outcome : effect.deliver(batch)) {
      if (outcome.kind != handlers::DeliveryOutcome::Kind::delivered) throw std::runtime_error(outcome.error);
    }
  }
  return static_cast<double>(count) / std::chrono::duration<double>(bench::Clock::now() - start).count();
}

// A daemon catching up on `stream` with `handlers`, whole process; returns events per second.
double daemon_rate(const std::string& binary, const std::string& url, const std::string& dir,
                   const bench::ProjectordOptions& options, std::int64_t events) {
  const bench::Projectord projectord(binary, url, dir, options);
  projectord.migrate();
  const bench::ExitInfo exit = projectord.catch_up();
  return static_cast<double>(events) / exit.seconds;
}

int run(bench::Flags& flags) {
  const std::string server_url = flags.required_text("--url");
  const std::string redis_text = flags.required_text("--redis");
  const std::string binary = flags.required_text("--projectord");
  const std::int64_t entries = flags.positive("--entries", 300'000);
  const std::int64_t rate = flags.positive("--rate", 1000);
  const std::int64_t seconds = flags.positive("--seconds", 20);
  const std::int64_t webhook_events = flags.positive("--webhook-events", 30'000);
  const std::string redis_benchmark = flags.required_text("--redis-benchmark");
  flags.finish();
  const auto redis_url = projectord::redis::parse_redis_url(redis_text);
  if (!redis_url) throw std::runtime_error("--redis: " + redis_url.error());

  bench::WorkDir work_dir("bench-redis");
  const std::string url = bench::fresh_database(server_url, "bench_redis");
  pqxx::connection connection(url);
  bench::print_header("projectord benchmark: redis", connection);
  const std::string prefix = "bench:" + std::to_string(::getpid()) + ":";
  handlers::RedisSink redis(redis_text, std::chrono::seconds(60));
  bench::Checks checks;

  // Catch-up.
  const double xadd = xadd_baseline(redis_benchmark, *redis_url, prefix + "xadd", work_dir.path() + "/redis-benchmark.log");
  projectord::examples::UserEventGenerator generator(bench::kSeed);
  const Stream users = load_stream(redis, prefix + "users", generator, entries);
  const double catch_up = daemon_rate(binary, url, work_dir.path() + "/catchup",
                                      options_for(redis_text, users, {bench::demo_handlers().front()}), entries);
  std::cout << "catch-up of " << entries << " entries into user_projection: " << bench::fixed(catch_up, 0)
            << " entries/s; redis-benchmark XADD: " << bench::fixed(xadd, 0)
            << " entries/s; ratio " << bench::ratio(catch_up, xadd) << std::endl;
  checks.expect(catch_up >= 100'000, "catch-up >= 100,000 entries/s", bench::fixed(catch_up, 0));
  checks.expect(catch_up >= 0.5 * xadd, "catch-up >= 0.5x redis-benchmark's XADD rate", bench::ratio(catch_up, xadd));

  // Publish: the same stream through redis_publish, against the side effect alone.
  {
    projectord::config::Handler handler;
    handler.name = "direct";
    handler.kind = "redis_publish";
    handler.side_effect.url = redis_text;
    handler.side_effect.stream = prefix + "direct-out";
    handler.side_effect.request_timeout = std::chrono::seconds(60);
    auto direct = handlers::RedisPublish::make(handler);
    if (!direct) throw std::runtime_error(direct.error());
    projectord::examples::UserEventGenerator more(bench::kSeed + 1);
    const double baseline = direct_rate(**direct, more, entries);
    const double through = daemon_rate(
        binary, url, work_dir.path() + "/publish",
        options_for(redis_text, users,
                    {{"publish", "kind = \"redis_publish\"\nurl = \"" + redis_text + "\"\nstream = \"" + prefix +
                                     "out\"\n"}}),
        entries);
    std::cout << "redis_publish of " << entries << " events: " << bench::fixed(through, 0)
              << " events/s; the side effect alone: " << bench::fixed(baseline, 0) << " events/s; ratio "
              << bench::ratio(through, baseline) << std::endl;
    checks.expect(through >= 50'000, "redis_publish >= 50,000 events/s", bench::fixed(through, 0));
  }

  // Webhook: a smaller stream to a local receiver.
  {
    projectord::testing::WebhookReceiver receiver(
        [](std::size_t, const projectord::testing::ReceivedRequest&) { return projectord::testing::ScriptedResponse{}; });
    const std::string hook_url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/events";
    projectord::config::Handler handler;
    handler.name = "direct";
    handler.kind = "webhook";
    handler.side_effect.url = hook_url;
    handler.side_effect.max_in_flight = 16;
    auto direct = handlers::Webhook::make(handler);
    if (!direct) throw std::runtime_error(direct.error());
    projectord::examples::UserEventGenerator more(bench::kSeed + 2);
    const double baseline = direct_rate(**direct, more, webhook_events);
    projectord::examples::UserEventGenerator hooked(bench::kSeed + 3);
    const Stream hooks = load_stream(redis, prefix + "hooks", hooked, webhook_events);
    const double through = daemon_rate(
        binary, url, work_dir.path() + "/webhook",
        options_for(redis_text, hooks,
                    {{"hook", "kind = \"webhook\"\nurl = \"" + hook_url + "\"\nmax_in_flight = 16\n"}}),
        webhook_events);
    std::cout << "webhook of " << webhook_events << " events, 16 in flight: " << bench::fixed(through, 0)
              << " events/s; the side effect alone: " << bench::fixed(baseline, 0) << " events/s; ratio "
              << bench::ratio(through, baseline) << std::endl;
    checks.expect(through >= 5'000, "webhook >= 5,000 events/s with 16 in flight", bench::fixed(through, 0));
  }

  // Live: XADD -> visible in user_event_log.
  {
    Stream live{prefix + "live", 0};
    const bench::Projectord projectord(binary, url, work_dir.path() + "/live",
                                       options_for(redis_text, live,
                                                   {{"live_users", "kind = \"users\"\ntable = \"live_user_projection\"\n"},
                                                    bench::demo_handlers().back()}));
    projectord.migrate();
    bench::Child daemon(projectord.command({"run"}), projectord.env(), projectord.log_path());
    // The log table exists once the daemon ran its setup.
    projectord.wait_until(daemon, [&] {
      return bench::query_int(connection, "SELECT count(*) FROM pg_class WHERE relname = 'user_event_log'") == 1;
    }, std::chrono::minutes(1), "starting");
    bench::install_visibility_trigger(connection, "user_event_log", "global_position");
    bench::VisibilityListener listener(url);
    handlers::RedisSink writer(redis_text, std::chrono::seconds(10));
    projectord::examples::UserEventGenerator live_events(bench::kSeed + 4);
    std::vector<bench::Commit> commits;
    std::vector<double> round_trips;
    const auto start = bench::Clock::now();
    const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
    for (std::int64_t i = 0; i < rate * seconds; ++i) {
      std::this_thread::sleep_until(start + i * interval);
      const auto event = live_events.next();
      const auto sent = bench::Clock::now();
      auto reply = writer.send({{"XADD", live.key, "*", "type", event.topic, "stream_id", event.originator_id,
                                 "version", std::to_string(event.originator_version), "data", event.state}});
      const auto acked = bench::Clock::now();
      if (!reply[0] || reply[0]->is_error()) throw std::runtime_error("XADD failed");
      commits.push_back({*StreamEntryId::parse(reply[0]->text)->position(), acked});
      round_trips.push_back(std::chrono::duration<double, std::milli>(acked - sent).count());
    }
    const bool all = listener.wait_for_all(commits, bench::kVisibleTimeout);
    const bench::LatencySummary visible = bench::summarize(listener.latencies(commits));
    const bench::LatencySummary xadd_trip = bench::summarize(round_trips);
    std::cout << "live, " << rate << " entries/s for " << seconds << " s: XADD reply -> visible p50 "
              << bench::fixed(visible.p50, 2) << " ms, p99 " << bench::fixed(visible.p99, 2) << " ms, max "
              << bench::fixed(visible.max, 2) << " ms (" << visible.count << " seen); baseline XADD round trip p50 "
              << bench::fixed(xadd_trip.p50, 2) << " ms, p99 " << bench::fixed(xadd_trip.p99, 2) << " ms" << std::endl;
    checks.expect(all, "every live entry became visible");
    checks.expect(visible.p99 <= 2.0, "live append -> visible p99 <= 2 ms at " + std::to_string(rate) + "/s",
                  bench::fixed(visible.p99, 2) + " ms");
    bench::Projectord::stop(daemon, checks);
  }

  std::vector<std::vector<std::string>> cleanup;
  for (const char* key : {"xadd", "users", "out", "direct-out", "hooks", "live"}) cleanup.push_back({"DEL", prefix + key});
  redis.send(std::move(cleanup));
  return checks.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return bench::run_main(argc, argv, "bench-redis", kUsage, run); }
