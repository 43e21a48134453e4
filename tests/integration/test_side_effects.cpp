// Side effects against the real test Redis: redis_publish's entries, and celery's messages run by a real
// Celery 5 worker (tests/support/celery_app). Each test has its own keys and ACL user (TestStream).
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "handlers/side_effects/celery_task.hpp"
#include "handlers/side_effects/redis_publish.hpp"
#include "tests/support/celery_worker.hpp"
#include "tests/support/redis_test_stream.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::Event;
using projectord::handlers::DeliveryOutcome;
using projectord::testing::eventually;
using projectord::testing::TestStream;
namespace config = projectord::config;
namespace handlers = projectord::handlers;
namespace json = boost::json;

namespace {

Event registered(int n) {
  Event event;
  event.source = "shop";
  event.position = 100 + n;
  event.stream_id = "user-" + std::to_string(n);
  event.version = 1;
  event.type = "users.events:UserRegistered";
  event.recorded_at = "2026-11-23T10:00:00+00:00";
  event.data = json::object{{"email", "user" + std::to_string(n) + "@example.com"}, {"name", "User " + std::to_string(n)}};
  event.metadata = json::object{{"tenant", "t1"}};
  return event;
}

std::vector<Event> registered(int first, int last) {
  std::vector<Event> events;
  for (int n = first; n <= last; ++n) events.push_back(registered(n));
  return events;
}

config::Handler side_effect_handler(const std::string& kind, const std::string& url) {
  config::Handler handler;
  handler.name = "effect";
  handler.kind = kind;
  handler.side_effect.url = url;
  handler.side_effect.request_timeout = 5s;
  return handler;
}

bool all_delivered(const std::vector<DeliveryOutcome>& outcomes) {
  return std::all_of(outcomes.begin(), outcomes.end(),
                      [](const DeliveryOutcome& o) { return o.kind == DeliveryOutcome::Kind::delivered; });
}

std::map<std::string, std::string> fields_of(const projectord::redis::Reply& entry) {
  std::map<std::string, std::string> fields;
  const auto& pairs = entry.elements.at(1).elements;
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) fields[pairs[i].text] = pairs[i + 1].text;
  return fields;
}

std::string base64_decoded(const std::string& text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();  // padding
  return out;
}

}  // namespace

TEST_CASE("redis_publish adds one entry per event with the whole event, or with the mapped fields", "[redis]") {
  TestStream stream;
  config::Handler handler = side_effect_handler("redis_publish", stream.source().url);
  handler.side_effect.stream = stream.key;
  auto whole = handlers::RedisPublish::make(handler);
  REQUIRE(whole.has_value());
  REQUIRE(all_delivered((*whole)->deliver(registered(1, 3))));
  const auto entries = stream.admin("XRANGE", stream.key, "-", "+");
  REQUIRE(entries.elements.size() == 3);
  const auto first = fields_of(entries.elements[0]);
  CHECK(first.at("type") == "users.events:UserRegistered");
  CHECK(first.at("stream_id") == "user-1");
  CHECK(json::parse(first.at("data")) == json::parse(R"({"email":"user1@example.com","name":"User 1"})"));
  CHECK(json::parse(first.at("metadata")) == json::parse(R"({"tenant":"t1"})"));
  CHECK(first.at("position") == "101");
  CHECK(first.at("idempotency_key") == "shop:101");

  handler.side_effect.fields = {{"who", "stream_id"}, {"email", "data.email"}, {"absent", "data.nothing"}};
  auto mapped = handlers::RedisPublish::make(handler);
  REQUIRE(mapped.has_value());
  REQUIRE(all_delivered((*mapped)->deliver(registered(4, 4))));
  const auto last = stream.admin("XREVRANGE", stream.key, "+", "-", "COUNT", "1");
  CHECK(fields_of(last.elements.at(0)) ==
        std::map<std::string, std::string>{{"who", "user-4"}, {"email", "user4@example.com"}});
}

TEST_CASE("redis_publish adds an entry whose last mapped value is \"*\", and refuses one with no mapped value", "[redis]") {
  TestStream stream;
  config::Handler handler = side_effect_handler("redis_publish", stream.source().url);
  handler.side_effect.stream = stream.key;
  handler.side_effect.fields = {{"note", "data.note"}};
  auto publish = handlers::RedisPublish::make(handler);
  REQUIRE(publish.has_value());
  std::vector<Event> events = registered(1, 2);
  events[0].data.as_object()["note"] = "*";
  const std::vector<DeliveryOutcome> outcomes = (*publish)->deliver(events);
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[0].kind == DeliveryOutcome::Kind::delivered);
  CHECK(outcomes[1].kind == DeliveryOutcome::Kind::permanent);
  const auto entries = stream.admin("XRANGE", stream.key, "-", "+");
  REQUIRE(entries.elements.size() == 1);
  CHECK(fields_of(entries.elements[0]) == std::map<std::string, std::string>{{"note", "*"}});
}

TEST_CASE("redis_publish with maxlen keeps the stream trimmed to about that length", "[redis]") {
  TestStream stream;
  config::Handler handler = side_effect_handler("redis_publish", stream.source().url);
  handler.side_effect.stream = stream.key;
  handler.side_effect.maxlen = 100;
  auto publish = handlers::RedisPublish::make(handler);
  REQUIRE(publish.has_value());
  for (int round = 0; round < 10; ++round) REQUIRE(all_delivered((*publish)->deliver(registered(1, 100))));
  const std::int64_t length = stream.admin("XLEN", stream.key).integer;
  CHECK(length >= 100);
  CHECK(length < 1000);  // "~" trims whole macro nodes: about 100, never all 1,000
}

TEST_CASE("a side effect whose Redis connection is lost reports retry, and the next call delivers", "[redis]") {
  TestStream stream;
  config::Handler handler = side_effect_handler("redis_publish", stream.source().url);
  handler.side_effect.stream = stream.key;
  auto publish = handlers::RedisPublish::make(handler);
  REQUIRE(publish.has_value());
  REQUIRE(all_delivered((*publish)->deliver(registered(1, 1))));
  stream.admin("ACL", "SETUSER", stream.user, "off");  // refuses the reconnect too
  stream.admin("CLIENT", "KILL", "USER", stream.user);
  const auto failed = (*publish)->deliver(registered(2, 3));
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].kind == DeliveryOutcome::Kind::retry);
  CHECK(failed[1].kind == DeliveryOutcome::Kind::retry);
  CHECK_THAT(failed[0].error, !Catch::Contains(projectord::testing::kStreamUserPassword));
  stream.admin("ACL", "SETUSER", stream.user, "on");
  REQUIRE(all_delivered((*publish)->deliver(registered(2, 3))));
  CHECK(stream.admin("XLEN", stream.key).integer == 3);
}

TEST_CASE("a celery message is protocol v2: task header, a stable id, base64 [args, kwargs, embed]") {
  config::Handler handler = side_effect_handler("celery", "redis://127.0.0.1:1/0");
  handler.side_effect.task = "users.tasks.send_welcome_email";
  handler.side_effect.queue = "welcome";
  handler.side_effect.args = {"stream_id", "data.email"};
  handler.side_effect.kwargs = {{"name", "data.name"}, {"version", "version"}};
  auto task = handlers::CeleryTask::make(handler);
  REQUIRE(task.has_value());
  const Event event = registered(7);
  const json::value message = json::parse((*task)->message(event));
  const json::value again = json::parse((*task)->message(event));
  CHECK(message.at("content-type") == "application/json");
  CHECK(message.at("headers").at("task") == "users.tasks.send_welcome_email");
  CHECK(message.at("headers").at("lang") == "py");
  const std::string id(message.at("headers").at("id").as_string());
  CHECK(id == handlers::celery_task_id(event));
  CHECK(again.at("headers").at("id") == message.at("headers").at("id"));  // the same on a redelivery
  CHECK(handlers::celery_task_id(registered(8)) != id);
  CHECK(message.at("headers").at("root_id") == message.at("headers").at("id"));
  CHECK(message.at("properties").at("correlation_id") == message.at("headers").at("id"));
  CHECK(message.at("properties").at("delivery_info").at("routing_key") == "welcome");
  CHECK(message.at("properties").at("body_encoding") == "base64");
  CHECK(again.at("properties").at("delivery_tag") != message.at("properties").at("delivery_tag"));
  const json::value body = json::parse(base64_decoded(std::string(message.at("body").as_string())));
  CHECK(body == json::parse(R"([["user-7", "user7@example.com"], {"name": "User 7", "version": 1},)"
                            R"( {"callbacks": null, "errbacks": null, "chain": null, "chord": null}])"));
}

TEST_CASE("a real Celery worker runs the task once per delivered event, with the event's arguments", "[redis]") {
  TestStream stream;  // its key names the queue; its user (all keys) is the broker's
  const std::string record = stream.key + ":ran";
  config::Handler handler = side_effect_handler("celery", stream.source().url);
  handler.side_effect.task = "users.tasks.send_welcome_email";
  handler.side_effect.queue = stream.key;
  handler.side_effect.args = {"stream_id", "data.email"};
  handler.side_effect.kwargs = {{"name", "data.name"}};
  auto task = handlers::CeleryTask::make(handler);
  REQUIRE(task.has_value());
  REQUIRE(all_delivered((*task)->deliver(registered(1, 20))));

  projectord::testing::CeleryWorker worker(stream.source().url, stream.key, record);
  const bool ran = eventually([&] { return stream.admin("LLEN", record).integer >= 20; }, 60s);
  INFO(worker.process().log());
  REQUIRE(ran);
  std::set<std::string> ids;
  std::set<std::string> users;
  for (const auto& item : stream.admin("LRANGE", record, "0", "-1").elements) {
    const json::value run = json::parse(item.text);
    ids.insert(std::string(run.at("id").as_string()));
    const std::string user(run.at("args").at(0).as_string());
    users.insert(user);
    const int n = std::stoi(user.substr(5));
    CHECK(run.at("args").at(1) == json::value("user" + std::to_string(n) + "@example.com"));
    CHECK(run.at("name") == json::value("User " + std::to_string(n)));
    CHECK(run.at("id") == json::value(handlers::celery_task_id(registered(n))));
  }
  CHECK(ids.size() == 20);
  CHECK(users.size() == 20);
  CHECK(stream.admin("LLEN", record).integer == 20);
  (void)stream.admin.send({"DEL", record});
}
