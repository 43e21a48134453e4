#include "handlers/side_effects/celery_task.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "handlers/side_effects/redis_publish.hpp"

namespace projectord::handlers {

namespace json = boost::json;

namespace {

// The namespace of projectord's task ids (a random UUID, fixed forever: changing it changes every id).
const boost::uuids::uuid kTaskIdNamespace =
    boost::uuids::string_generator()("6b1f2c1e-5f0e-4a51-9a43-2d0c6f3b7e21");

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string host_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}

}  // namespace

std::string celery_task_id(const Event& event) {
  return boost::uuids::to_string(boost::uuids::name_generator_sha1(kTaskIdNamespace)(idempotency_key(event)));
}

Result<std::unique_ptr<CeleryTask>> CeleryTask::make(const config::Handler& handler) {
  const config::SideEffectSettings& settings = handler.side_effect;
  if (auto url = RedisSink::check_url(settings.url); !url) {
    return fail("handler " + handler.name + ": url: " + url.error());
  }
  std::vector<EventPath> args;
  for (const std::string& text : settings.args) {
    auto path = EventPath::parse(text);
    if (!path) return fail("handler " + handler.name + ": args: " + path.error());
    args.push_back(std::move(*path));
  }
  std::vector<std::pair<std::string, EventPath>> kwargs;
  for (const auto& [name, text] : settings.kwargs) {
    auto path = EventPath::parse(text);
    if (!path) return fail("handler " + handler.name + ": kwargs." + name + ": " + path.error());
    kwargs.emplace_back(name, std::move(*path));
  }
  return std::unique_ptr<CeleryTask>(new CeleryTask(settings.task, settings.queue, std::move(args), std::move(kwargs),
                                                    std::make_unique<RedisSink>(settings.url, settings.request_timeout)));
}

CeleryTask::CeleryTask(std::string task, std::string queue, std::vector<EventPath> args,
                       std::vector<std::pair<std::string, EventPath>> kwargs, std::unique_ptr<RedisSink> sink)
    : task_(std::move(task)),
      queue_(std::move(queue)),
      args_(std::move(args)),
      kwargs_(std::move(kwargs)),
      origin_("projectord@" + host_name()),
      sink_(std::move(sink)) {}

std::string CeleryTask::message(const Event& event) const {
  json::array args;
  for (const EventPath& path : args_) args.push_back(path.evaluate_json(event));
  json::object kwargs;
  for (const auto& [name, path] : kwargs_) kwargs[name] = path.evaluate_json(event);
  const json::object embed{{"callbacks", nullptr}, {"errbacks", nullptr}, {"chain", nullptr}, {"chord", nullptr}};
  const std::string id = celery_task_id(event);
  const std::string argsrepr = json::serialize(args);
  const std::string kwargsrepr = json::serialize(kwargs);
  const json::array body{std::move(args), std::move(kwargs), embed};
  const json::object headers{
      {"lang", "py"},          {"task", task_},
      {"id", id},              {"shadow", nullptr},
      {"eta", nullptr},        {"expires", nullptr},
      {"group", nullptr},      {"group_index", nullptr},
      {"retries", 0},          {"timelimit", json::array{nullptr, nullptr}},
      {"root_id", id},         {"parent_id", nullptr},
      {"argsrepr", argsrepr},  {"kwargsrepr", kwargsrepr},
      {"origin", origin_},     {"ignore_result", false},
      {"replaced_task_nesting", 0}, {"stamped_headers", nullptr},
      {"stamps", json::object()}};
  const json::object properties{
      {"correlation_id", id},
      {"reply_to", ""},
      {"delivery_mode", 2},
      {"delivery_info", json::object{{"exchange", ""}, {"routing_key", queue_}}},
      {"priority", 0},
      {"body_encoding", "base64"},
      {"delivery_tag", boost::uuids::to_string(delivery_tags_())}};
  return json::serialize(json::object{{"body", base64(json::serialize(body))},
                                      {"content-encoding", "utf-8"},
                                      {"content-type", "application/json"},
                                      {"headers", headers},
                                      {"properties", properties}});
}

std::vector<DeliveryOutcome> CeleryTask::deliver(std::span<const Event> events) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(events.size());
  for (const Event& event : events) commands.push_back({"LPUSH", queue_, message(event)});
  const std::vector<Result<redis::Reply>> replies = sink_->send(std::move(commands));
  std::vector<DeliveryOutcome> outcomes;
  outcomes.reserve(replies.size());
  for (const auto& reply : replies) outcomes.push_back(outcome_of(reply));
  return outcomes;
}

}  // namespace projectord::handlers
