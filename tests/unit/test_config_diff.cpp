// The reload diff (daemon/config_diff.hpp): what a SIGHUP starts, restarts, stops and keeps, given the
// handlers whose replacement still waits for their old lane.
#include <catch2/catch.hpp>

#include "daemon/config_diff.hpp"

using projectord::ConfigDiff;
using projectord::diff_config;
using projectord::HandlerChange;
namespace config = projectord::config;

namespace {

config::Handler handler(const std::string& name, const std::string& source = "shop") {
  config::Handler h;
  h.name = name;
  h.kind = "event_log";
  h.source = source;
  h.table = name;
  return h;
}

config::Config shop(std::initializer_list<config::Handler> handlers) {
  config::Config c;
  c.database_url = "postgresql:///projections";
  c.postgres_sources["shop"].name = "shop";
  c.postgres_sources["shop"].table = "stored_events";
  c.redis_sources["orders"].name = "orders";
  c.redis_sources["orders"].stream = "orders";
  for (const config::Handler& h : handlers) c.handlers[h.name] = h;
  return c;
}

HandlerChange change_of(const ConfigDiff& diff, const std::string& name) { return diff.handlers.at(name); }

}  // namespace

TEST_CASE("the first configuration starts every handler and sets the endpoint settings") {
  const ConfigDiff diff = diff_config(nullptr, shop({handler("users"), handler("log")}), {});
  CHECK(diff.handlers.size() == 2);
  CHECK(change_of(diff, "users") == HandlerChange::start);
  CHECK(change_of(diff, "log") == HandlerChange::start);
  CHECK(diff.endpoint_settings_changed);
  CHECK(diff.kept_running_values.empty());
}

TEST_CASE("a reload starts added handlers, stops removed ones and keeps unchanged ones") {
  const config::Config running = shop({handler("users"), handler("log")});
  const ConfigDiff diff = diff_config(&running, shop({handler("users"), handler("audit")}), {});
  CHECK(diff.handlers.size() == 3);
  CHECK(change_of(diff, "users") == HandlerChange::keep);
  CHECK(change_of(diff, "audit") == HandlerChange::start);
  CHECK(change_of(diff, "log") == HandlerChange::stop);
  CHECK_FALSE(diff.endpoint_settings_changed);
}

TEST_CASE("a handler whose own settings changed restarts, one that only moved in the file does not") {
  const config::Config running = shop({handler("users"), handler("log")});
  config::Config wanted = running;
  wanted.handlers["users"].max_attempts = 9;
  wanted.handlers["log"].line = 42;
  const ConfigDiff diff = diff_config(&running, wanted, {});
  CHECK(change_of(diff, "users") == HandlerChange::restart);
  CHECK(change_of(diff, "log") == HandlerChange::keep);
}

TEST_CASE("a source changed under a handler restarts every handler on it and no other") {
  const config::Config running = shop({handler("users"), handler("feed", "orders")});
  config::Config wanted = running;
  wanted.postgres_sources["shop"].batch_size = 100;
  const ConfigDiff diff = diff_config(&running, wanted, {});
  CHECK(change_of(diff, "users") == HandlerChange::restart);
  CHECK(change_of(diff, "feed") == HandlerChange::keep);

  config::Config moved = running;
  moved.handlers["users"].source = "orders";
  CHECK(change_of(diff_config(&running, moved, {}), "users") == HandlerChange::restart);
}

TEST_CASE("a handler whose replacement is still pending has it replaced when changed again, dropped when removed") {
  const config::Config running = shop({handler("hook"), handler("log")});
  config::Config changed = running;
  changed.handlers["hook"].max_attempts = 7;
  changed.handlers["log"].max_attempts = 7;
  const ConfigDiff diff = diff_config(&running, changed, {"hook"});
  CHECK(change_of(diff, "hook") == HandlerChange::replace_pending);
  CHECK(change_of(diff, "log") == HandlerChange::restart);

  CHECK(change_of(diff_config(&running, running, {"hook"}), "hook") == HandlerChange::keep);
  CHECK(change_of(diff_config(&running, shop({handler("log")}), {"hook"}), "hook") == HandlerChange::drop_pending);
}

TEST_CASE("endpoint settings changed by a reload are reported, with no handler touched") {
  const config::Config running = shop({handler("users")});
  config::Config token = running;
  token.http.admin_token = "s3cret";
  config::Config stuck = running;
  stuck.daemon.stuck_after = std::chrono::seconds(5);
  config::Config lag = running;
  lag.http.ready_max_lag = std::chrono::seconds(5);
  for (const config::Config* wanted : {&token, &stuck, &lag}) {
    const ConfigDiff diff = diff_config(&running, *wanted, {});
    CHECK(diff.endpoint_settings_changed);
    CHECK(change_of(diff, "users") == HandlerChange::keep);
  }
  CHECK(projectord::endpoint_settings(token).admin_token == "s3cret");
}

TEST_CASE("process-bound settings changed by a reload are named and the running values kept") {
  const config::Config running = shop({handler("users")});
  config::Config wanted = running;
  wanted.database_url = "postgresql:///elsewhere";
  wanted.synchronous_commit = "on";
  wanted.pooling = projectord::postgres::Pooling::transaction;
  wanted.listen_url = "postgresql://direct/projections";
  wanted.http.listen = "0.0.0.0:9000";
  wanted.http.admin_token = "s3cret";
  wanted.daemon.lease_length = std::chrono::seconds(10);
  wanted.daemon.lease_renew_interval = std::chrono::seconds(2);
  const ConfigDiff diff = diff_config(&running, wanted, {});
  CHECK(diff.kept_running_values == std::vector<std::string>{"database.url", "database.synchronous_commit",
                                                             "database.pooling", "database.listen_url",
                                                             "http.listen", "daemon.lease_length",
                                                             "daemon.lease_renew_interval"});
  CHECK(change_of(diff, "users") == HandlerChange::keep);

  const config::Config effective = projectord::effective_config(running, wanted);
  CHECK(effective.database_url == running.database_url);
  CHECK(effective.synchronous_commit == running.synchronous_commit);
  CHECK(effective.pooling == running.pooling);
  CHECK(effective.listen_url == running.listen_url);
  CHECK(effective.http.listen == running.http.listen);
  CHECK(effective.daemon.lease_length == running.daemon.lease_length);
  CHECK(effective.daemon.lease_renew_interval == running.daemon.lease_renew_interval);
  CHECK(effective.http.admin_token == "s3cret");
}
