#include "bench/rebuild/rebuild_watch.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <stdexcept>

#include "bench/support/store.hpp"
#include "tests/support/http_client.hpp"

namespace projectord::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t table_oid(pqxx::connection& connection, const std::string& table) {
  return query_int(connection, "SELECT '" + table + "'::regclass::oid::bigint");
}

// GET /status's `handlers` array.
boost::json::array status_handlers(unsigned short port) {
  const testing::HttpReply reply = testing::http_request("127.0.0.1", port, "GET", "/status");
  if (reply.status != 200) throw std::runtime_error("GET /status answered " + std::to_string(reply.status));
  return boost::json::parse(reply.body).at("handlers").as_array();
}

}  // namespace

RebuildWatch::RebuildWatch(unsigned short port, pqxx::connection& connection,
                           const std::vector<RebuiltHandler>& handlers)
    : port_(port), connection_(connection) {
  for (const RebuiltHandler& rebuilt : handlers) {
    RebuildProgress& p = progress_.emplace_back();
    p.rebuilt = rebuilt;
    p.table_oid = table_oid(connection, rebuilt.table);
  }
}

void RebuildWatch::request() {
  requested_ = Clock::now();
  for (const RebuildProgress& p : progress_) {
    const testing::HttpReply reply =
        testing::http_request("127.0.0.1", port_, "POST", "/admin/rebuild/" + p.rebuilt.handler);
    if (reply.status != 202) {
      throw std::runtime_error("POST /admin/rebuild/" + p.rebuilt.handler + " answered " +
                               std::to_string(reply.status) + ": " + reply.body);
    }
  }
}

bool RebuildWatch::poll(Stage stage) {
  const boost::json::array handlers = status_handlers(port_);
  const auto now = Clock::now();
  bool all = true;
  for (RebuildProgress& p : progress_) {
    const auto listed = std::find_if(handlers.begin(), handlers.end(), [&](const boost::json::value& handler) {
      return handler.at("name").as_string() == p.rebuilt.handler;
    });
    if (listed == handlers.end()) throw std::runtime_error("GET /status does not list handler " + p.rebuilt.handler);
    const boost::json::value& rebuild = listed->at("rebuild");
    if (!p.swapped) {
      if (!rebuild.is_null()) {
        p.events_applied = rebuild.at("events_applied").to_number<std::int64_t>();
        if (!p.at_head && rebuild.at("phase").as_string() == "swapping") p.at_head = now;
      } else if (table_oid(connection_, p.rebuilt.table) != p.table_oid) {
        p.swapped = now;
      }
    }
    all = all && (stage == Stage::at_head ? p.at_head || p.swapped : p.swapped.has_value());
  }
  return all;
}

double RebuildWatch::seconds_to_swap() const {
  Clock::time_point last = requested_;
  for (const RebuildProgress& p : progress_) {
    if (!p.swapped) return 0;
    last = std::max(last, *p.swapped);
  }
  return std::chrono::duration<double>(last - requested_).count();
}

std::vector<std::string> handlers_rebuilding(unsigned short port) {
  std::vector<std::string> names;
  for (const boost::json::value& handler : status_handlers(port)) {
    if (!handler.at("rebuild").is_null()) names.emplace_back(handler.at("name").as_string());
  }
  return names;
}

}  // namespace projectord::bench
