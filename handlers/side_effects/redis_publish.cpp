#include "handlers/side_effects/redis_publish.hpp"

#include <boost/json/serialize.hpp>

namespace projectord::handlers {

Result<std::unique_ptr<RedisPublish>> RedisPublish::make(const config::Handler& handler) {
  const config::SideEffectSettings& settings = handler.side_effect;
  if (auto url = RedisSink::check_url(settings.url); !url) {
    return fail("handler " + handler.name + ": url: " + url.error());
  }
  std::vector<std::pair<std::string, EventPath>> fields;
  for (const auto& [field, text] : settings.fields) {
    auto path = EventPath::parse(text);
    if (!path) return fail("handler " + handler.name + ": fields." + field + ": " + path.error());
    fields.emplace_back(field, std::move(*path));
  }
  auto sink = std::make_unique<RedisSink>(settings.url, settings.request_timeout);
  return std::unique_ptr<RedisPublish>(
      new RedisPublish(settings.stream, settings.maxlen, std::move(fields), std::move(sink)));
}

std::optional<std::vector<std::string>> RedisPublish::xadd(const Event& event) const {
  std::vector<std::string> command{"XADD", stream_};
  if (maxlen_ > 0) {
    command.insert(command.end(), {"MAXLEN", "~", std::to_string(maxlen_)});
  }
  command.emplace_back("*");
  if (fields_.empty()) {
    command.insert(command.end(),
                   {"type", event.type, "stream_id", event.stream_id, "version", std::to_string(event.version), "data",
                    boost::json::serialize(event.data), "metadata", boost::json::serialize(event.metadata), "source",
                    event.source, "position", event.entry_id.empty() ? std::to_string(event.position) : event.entry_id,
                    "recorded_at", event.recorded_at, "idempotency_key", idempotency_key(event)});
    return command;
  }
  const std::size_t before_fields = command.size();
  for (const auto& [field, path] : fields_) {
    if (auto value = path.evaluate(event)) command.insert(command.end(), {field, std::move(*value)});
  }
  if (command.size() == before_fields) return std::nullopt;
  return command;
}

std::vector<DeliveryOutcome> RedisPublish::deliver(std::span<const Event> events) {
  std::vector<DeliveryOutcome> outcomes(events.size());
  std::vector<std::vector<std::string>> commands;
  std::vector<std::size_t> sent;  // the event of each command
  commands.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::optional<std::vector<std::string>> command = xadd(events[i]);
    if (!command) {
      outcomes[i] = {DeliveryOutcome::Kind::permanent, "no field of the entry has a value in this event", {}};
      continue;
    }
    commands.push_back(std::move(*command));
    sent.push_back(i);
  }
  const std::vector<Result<redis::Reply>> replies = sink_->send(std::move(commands));
  for (std::size_t k = 0; k < sent.size(); ++k) outcomes[sent[k]] = outcome_of(replies[k]);
  return outcomes;
}

DeliveryOutcome outcome_of(const Result<redis::Reply>& reply) {
  if (!reply) return {DeliveryOutcome::Kind::retry, reply.error(), {}};
  if (reply->is_error()) return {DeliveryOutcome::Kind::retry, "redis answered " + reply->text, {}};
  return {};
}

}  // namespace projectord::handlers
