#include "bench/metrics/handler_fleet.hpp"

#include <array>
#include <map>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string_view>

namespace projectord::bench {

namespace {

// The generator's event types; the sql handlers take them in turn.
constexpr std::array<std::string_view, 4> kTypes = {"UserRegistered", "UserEmailChanged", "UserProfileUpdated",
                                                    "UserDeactivated"};

bool is_event_log(std::size_t index) { return index % 4 == 0; }

std::string_view type_of(std::size_t index) { return kTypes[index / 4 % kTypes.size()]; }

std::string name_of(std::size_t index) {
  std::string number = std::to_string(index);
  if (number.size() < 3) number.insert(0, 3 - number.size(), '0');  // fleet_007 sorts before fleet_010
  return "fleet_" + number;
}

std::string sql_handler(const std::string& name, std::string_view type) {
  const std::string on = "\"" + std::string(type) + "\"";
  return "kind = \"sql\"\ntypes = [" + on + "]\nsetup = \"CREATE TABLE IF NOT EXISTS " + name +
         " (stream_id text PRIMARY KEY, events bigint NOT NULL, last_position bigint NOT NULL)\"\n\n" + "[[handlers." +
         name + ".statements]]\non = " + on + "\nsql = \"INSERT INTO " + name +
         " (stream_id, events, last_position) VALUES ($1, 1, $2) ON CONFLICT (stream_id) DO UPDATE SET events = " +
         name + ".events + 1, last_position = excluded.last_position\"\nparams = [\"stream_id\", \"position\"]\n";
}

}  // namespace

std::vector<HandlerConfig> handler_fleet(std::size_t count) {
  std::vector<HandlerConfig> fleet;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string name = name_of(i);
    fleet.push_back(
        {name, is_event_log(i) ? "kind = \"event_log\"\ntable = \"" + name + "\"\n" : sql_handler(name, type_of(i))});
  }
  return fleet;
}

std::size_t event_log_handlers(std::size_t count) { return (count + 3) / 4; }

void check_fleet(Checks& checks, pqxx::connection& connection, const std::vector<HandlerConfig>& fleet) {
  std::map<std::string, std::int64_t, std::less<>> stored;  // events per type, and "" for all of them
  {
    pqxx::nontransaction txn(connection);
    const pqxx::result rows = txn.exec("SELECT topic, count(*) FROM stored_events WHERE application_name = " +
                                       txn.quote(std::string(kApplication)) + " GROUP BY topic");
    for (const pqxx::row& row : rows) {
      const std::string topic = row[0].as<std::string>();
      stored[topic.substr(topic.find_last_of(':') + 1)] = row[1].as<std::int64_t>();
      stored[""] += row[1].as<std::int64_t>();
    }
  }
  std::size_t complete = 0;
  std::string first_mismatch;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const std::string& table = fleet[i].name;
    const std::string type = is_event_log(i) ? "" : std::string(type_of(i));
    const std::int64_t expected = stored[type];
    const std::int64_t held =
        query_int(connection, is_event_log(i) ? "SELECT count(DISTINCT global_position) FROM " + table
                                              : "SELECT coalesce(sum(events), 0) FROM " + table);
    const std::int64_t rows = is_event_log(i) ? query_int(connection, "SELECT count(*) FROM " + table) : held;
    if (held == expected && rows == expected) {
      ++complete;
    } else if (first_mismatch.empty()) {
      first_mismatch = "; " + table + " holds " + std::to_string(rows) + " events (" + std::to_string(held) +
                       " distinct), expected " + std::to_string(expected);
    }
  }
  checks.expect(complete == fleet.size() && stored[""] > 0, "every handler's read model holds each of its events once",
                std::to_string(complete) + " of " + std::to_string(fleet.size()) + " read models" + first_mismatch);
}

}  // namespace projectord::bench
