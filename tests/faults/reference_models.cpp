#include "tests/faults/reference_models.hpp"

#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "bench/support/read_models.hpp"
#include "bench/support/store.hpp"

namespace projectord::testing::faults {

namespace {

// Multisets of `columns` (EXCEPT ALL both ways); quotes up to three rows of each kind.
ModelDifferences compare(pqxx::connection& connection, const std::string& reference, const std::string& model,
                         const std::string& columns) {
  const std::string from_reference = "SELECT " + columns + " FROM " + reference;
  const std::string from_model = "SELECT " + columns + " FROM " + model;
  pqxx::work txn(connection);
  const auto rows = [&](const std::string& a, const std::string& b) {
    return txn.exec("SELECT row_to_json(d)::text FROM (" + a + " EXCEPT ALL " + b + ") d");
  };
  const pqxx::result missing = rows(from_reference, from_model);
  const pqxx::result extra = rows(from_model, from_reference);
  ModelDifferences found{static_cast<std::int64_t>(missing.size()), static_cast<std::int64_t>(extra.size()), ""};
  const auto quote = [&](const pqxx::result& result, const std::string& kind) {
    for (pqxx::result::size_type row = 0; row < result.size() && row < 3; ++row) {
      found.sample += kind + ": " + result[row][0].c_str() + "\n";
    }
  };
  quote(missing, "missing from " + model);
  quote(extra, "extra in " + model);
  return found;
}

}  // namespace

ReferenceComparison compare_with_reference(pqxx::connection& connection, std::int64_t head,
                                           const std::string& users_table, const std::string& log_table) {
  bench::create_like(connection, "reference_users", users_table);
  bench::create_like(connection, "reference_log", log_table);
  bench::run_set_based(connection, "reference_users", "reference_log", head);
  ReferenceComparison comparison{compare(connection, "reference_users", users_table, bench::kUserColumns),
                                 compare(connection, "reference_log", log_table, bench::kLogColumns)};
  pqxx::nontransaction(connection).exec("DROP TABLE reference_users, reference_log");
  return comparison;
}

std::string compare_demo_models(const TestDatabase& db, ScenarioFigures& figures) {
  const auto connection = db.connect();
  figures.events_written = db.query_int("SELECT count(*) FROM stored_events");
  const ReferenceComparison models =
      compare_with_reference(*connection, db.query_int("SELECT coalesce(max(id), 0) FROM stored_events"));
  figures.events_applied = db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log");
  figures.duplicates = models.log.extra + models.users.extra;
  figures.losses = models.log.missing + models.users.missing;
  return models.users.sample + models.log.sample;
}

std::string compare_stream_log(const TestDatabase& db, const RedisServer& redis, const std::string& stream,
                               const std::string& table, ScenarioFigures& figures) {
  // redis-cli prints XRANGE flat, one value a line: the id, then the fields add_user_entries wrote, in order.
  std::istringstream lines(redis.cli({"XRANGE", stream, "-", "+"}));
  std::vector<std::string> values;
  for (std::string line; std::getline(lines, line);) values.push_back(line);
  constexpr std::size_t kLinesPerEntry = 9;
  if (values.size() % kLinesPerEntry != 0) throw std::runtime_error("XRANGE " + stream + " is not as written");
  const auto connection = db.connect();
  {
    pqxx::work txn(*connection);
    txn.exec("CREATE TABLE reference_stream_log (user_id text, event_type text, event_version integer,"
             " event_data jsonb)");
    pqxx::stream_to copy(txn, "reference_stream_log", std::vector<std::string>{"user_id", "event_type", "event_version",
                                                                                  "event_data"});
    for (std::size_t at = 0; at < values.size(); at += kLinesPerEntry) {
      const std::string& type = values[at + 2];
      copy << std::make_tuple(values[at + 4], type.substr(type.rfind(':') + 1), std::stoi(values[at + 6]),
                              values[at + 8]);
    }
    copy.complete();
    txn.commit();
  }
  figures.events_written = static_cast<std::int64_t>(values.size() / kLinesPerEntry);
  const ModelDifferences log =
      compare(*connection, "reference_stream_log", table, "user_id, event_type, event_version, event_data");
  db.exec("DROP TABLE reference_stream_log");
  figures.events_applied = db.query_int("SELECT count(DISTINCT global_position) FROM " + table);
  figures.duplicates = log.extra;
  figures.losses = log.missing;
  return log.sample;
}

void add_user_entries(const RedisServer& redis, const std::string& stream, int from, int count) {
  const std::string script =
      "for i = tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1 do"
      " local kind = (i % 2 == 0) and 'UserRegistered' or 'UsernameChanged'"
      " redis.call('XADD', KEYS[1], '*', 'type', 'users.events:' .. kind, 'stream_id', 'user-' .. i,"
      " 'version', tostring(i % 3 + 1), 'data', '{\"email\": \"user' .. i .. '@example.com\", \"n\": ' .. i .. '}')"
      " end return 1";
  const std::string answer = redis.cli({"EVAL", script, "1", stream, std::to_string(from), std::to_string(count)});
  if (answer != "1") throw std::runtime_error("adding entries to " + stream + " failed: " + answer);
}

}  // namespace projectord::testing::faults
