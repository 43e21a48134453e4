#include "checkpoints/partitionings.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/result>

namespace projectord::checkpoints {

std::string partition_names_condition(std::string_view column, std::string_view suffix) {
  const std::string c(column);
  const std::string tail(suffix);
  return "(" + c + " = $1 || '" + tail + "' OR (left(" + c + ", length($1) + 1) = $1 || '/' AND substr(" + c +
         ", length($1) + 2) ~ '^[0-9]+" + tail + "$'))";
}

std::vector<std::string> partition_checkpoints(const std::string& handler, std::int64_t count) {
  if (count <= 1) return {handler};
  std::vector<std::string> names;
  for (std::int64_t index = 0; index < count; ++index) names.push_back(handler + "/" + std::to_string(index));
  return names;
}

namespace {

// A text[] parameter's text for checkpoint names: handler names and their /INDEX (config/loader.cpp) need no
// escaping inside the quotes.
std::string text_array(const std::vector<std::string>& names) {
  std::string array = "{";
  for (const std::string& name : names) array += (array.size() > 1 ? ",\"" : "\"") + name + "\"";
  return array + "}";
}

// The partition count the handler's checkpoints were kept in; none: it has no checkpoint (its record, if any,
// outlived checkpoints an operator deleted to start it over).
std::optional<std::int64_t> recorded_count(pqxx::work& txn, const std::string& handler) {
  const pqxx::row found = txn.exec_params1(
      "SELECT EXISTS (SELECT 1 FROM projectord.checkpoints WHERE " + partition_names_condition("handler") +
          "), (SELECT partitions FROM projectord.partitionings WHERE handler = $1)",
      handler);
  if (!found[0].as<bool>()) return std::nullopt;
  return found[1].is_null() ? 1 : found[1].as<std::int64_t>();
}

// Every new partition's checkpoint becomes the least of the old ones (holes and anchor with it); the old
// checkpoints, and the attempts counted under their names, go.
void carry_over(pqxx::work& txn, const std::string& handler, std::int64_t from, std::int64_t to) {
  const std::vector<std::string> old_names = partition_checkpoints(handler, from);
  const std::vector<std::string> new_names = partition_checkpoints(handler, to);
  const std::string olds = text_array(old_names);
  const std::string news = text_array(new_names);
  txn.exec_params0(
      "INSERT INTO projectord.checkpoints (handler, source, position, events_applied, holes, anchor_position,"
      " anchor_fingerprint) SELECT n.name, c.source, c.position, 0, c.holes, c.anchor_position, c.anchor_fingerprint"
      " FROM (SELECT * FROM projectord.checkpoints WHERE handler = ANY($1::text[]) ORDER BY position LIMIT 1) c"
      " CROSS JOIN unnest($2::text[]) AS n(name)"
      " ON CONFLICT (handler) DO UPDATE SET source = EXCLUDED.source, position = EXCLUDED.position,"
      " events_applied = EXCLUDED.events_applied, holes = EXCLUDED.holes, anchor_position ="
      " EXCLUDED.anchor_position, anchor_fingerprint = EXCLUDED.anchor_fingerprint, updated_at = now()",
      olds, news);
  txn.exec_params0(
      "DELETE FROM projectord.checkpoints WHERE handler = ANY($1::text[]) AND NOT handler = ANY($2::text[])", olds,
      news);
  txn.exec_params0("DELETE FROM projectord.attempts WHERE handler = ANY($1::text[])", olds);
}

}  // namespace

void record_partitioning(pqxx::work& txn, const std::string& handler, std::int64_t count) {
  if (count <= 1) {
    txn.exec_params0("DELETE FROM projectord.partitionings WHERE handler = $1", handler);
    return;
  }
  txn.exec_params0(
      "INSERT INTO projectord.partitionings (handler, partitions) VALUES ($1, $2)"
      " ON CONFLICT (handler) DO UPDATE SET partitions = EXCLUDED.partitions, since = now()",
      handler, count);
}

Result<void> adopt_partitioning(pqxx::work& txn, const config::Handler& lane) {
  const std::string handler = lane.partition ? lane.partition->handler : lane.name;
  const std::int64_t count = lane.partition ? lane.partition->count : 1;
  // The lanes of one handler start together, in any process: one at a time decides.
  txn.exec_params1("SELECT pg_advisory_xact_lock(hashtext('projectord.partitionings'), hashtext($1))", handler);
  const std::optional<std::int64_t> recorded = recorded_count(txn, handler);
  if (recorded == count) return {};
  if (!recorded) {
    record_partitioning(txn, handler, count);
    return {};
  }
  if (!lane.is_side_effect) {
    return fail("handler " + handler + " has its checkpoints in " + std::to_string(*recorded) +
                " partition(s) and is configured with " + std::to_string(count) +
                ": its read model holds each partition's events up to that partition's own position, which no other"
                " count continues from. Set partitions = " + std::to_string(*recorded) +
                " again, or rebuild it (a rebuild replays it into a fresh read model in the configured count), or"
                " empty its read model and delete its checkpoints to project it again from the start");
  }
  carry_over(txn, handler, *recorded, count);
  record_partitioning(txn, handler, count);
  spdlog::warn("handler={} event=repartitioned from={} to={} action=\"every partition resumes at the least old"
               " checkpoint; events after it are delivered again\"",
               handler, *recorded, count);
  return {};
}

}  // namespace projectord::checkpoints
