#include "checkpoints/leases.hpp"

#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <climits>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <random>

namespace projectord::checkpoints {

using namespace std::chrono_literals;

namespace {

LeaseOwner make_this_process() {
  std::array<char, HOST_NAME_MAX + 1> host{};
  if (gethostname(host.data(), host.size()) != 0) host[0] = '\0';
  host.back() = '\0';
  const auto pid = static_cast<std::int64_t>(getpid());
  std::random_device random;
  const std::string nonce = std::to_string(random());
  return {std::string(host.data()) + ":" + std::to_string(pid) + ":" + nonce, host.data(), pid};
}

LeaseHolder holder_of(const pqxx::row& row) {
  return {row["owner"].c_str(),       row["host"].c_str(),          row["pid"].as<std::int64_t>(),
          row["epoch"].as<std::int64_t>(), row["acquired_at"].c_str(), row["expires_at"].c_str(),
          row["expired"].as<bool>()};
}

// Parameters that are lists travel as JSON arrays: boost::json does the quoting a text[] literal would need.
std::string json_array(const std::vector<std::string>& names) {
  boost::json::array array;
  for (const std::string& name : names) array.emplace_back(name);
  return boost::json::serialize(array);
}

// The live processes that run handlers, each with how many of their leases it holds, and the fair share: the
// least count that, with no process holding more than it runs, leaves room for all M handlers they run between
// them (⌈M/N⌉ when all N run all; daemon/leases/lease_spread.hpp computes the same).
constexpr const char* kSpread =
    "WITH live AS ("
    " SELECT p.owner, p.handlers, (SELECT count(*) FROM projectord.leases l WHERE l.owner = p.owner"
    " AND l.expires_at > now() AND l.name = ANY (p.handlers)) AS held"
    " FROM projectord.processes p WHERE p.expires_at > now() AND cardinality(p.handlers) > 0),"
    " handlers AS (SELECT count(DISTINCT h) AS m FROM live, unnest(live.handlers) h),"
    " share AS (SELECT coalesce(min(s), (SELECT m FROM handlers)) AS n FROM handlers, generate_series(1, handlers.m) s"
    " WHERE (SELECT sum(least(s, cardinality(live.handlers))) FROM live) >= handlers.m) ";

constexpr const char* kHolderColumns =
    "owner, host, pid, epoch, acquired_at::text AS acquired_at, expires_at::text AS expires_at,"
    " expires_at <= now() AS expired";

}  // namespace

const LeaseOwner& this_process() {
  static const LeaseOwner owner = make_this_process();
  return owner;
}

LeaseTake take_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                     std::chrono::milliseconds length, std::chrono::milliseconds yield) {
  pqxx::work txn(connection);
  const bool yields = txn.exec_params1(std::string(kSpread) +
                                           "SELECT EXISTS (SELECT 1 FROM live me, share WHERE me.owner = $2"
                                           " AND $1 = ANY (me.handlers) AND me.held >= share.n AND EXISTS ("
                                           "SELECT 1 FROM live other WHERE other.owner <> $2"
                                           " AND $1 = ANY (other.handlers) AND other.held < share.n))",
                                       name, owner.id)[0]
                          .as<bool>();
  // How long a free lease waits for others before `owner` takes it: the yield when it yields, and after it let
  // the lease go itself (a hand-over), so that the process it was handed to gets it. Its own lease it takes
  // again while it lasts (a new session).
  const std::string waits = "(CASE WHEN $6 OR l.owner = $2 THEN $7 ELSE 0 END) * interval '1 millisecond'";
  const pqxx::result taken = txn.exec_params(
      "INSERT INTO projectord.leases AS l (name, owner, host, pid, epoch, acquired_at, renewed_at, expires_at)"
      " VALUES ($1, $2, $3, $4, 1, now(), now(), now() + $5 * interval '1 millisecond')"
      " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,"
      " epoch = l.epoch + 1, acquired_at = now(), renewed_at = now(), expires_at = excluded.expires_at"
      " WHERE l.expires_at <= now() - " + waits + " OR (l.owner = excluded.owner AND l.expires_at > now())"
      " RETURNING epoch, acquired_at::text",
      name, owner.id, owner.host, owner.pid, length.count(), yields, yield.count());
  LeaseTake take;
  if (!taken.empty()) {
    take.epoch = taken[0][0].as<std::int64_t>();
    take.since = taken[0][1].c_str();
    // A holder stopped or cut off inside a write transaction keeps its row locks for as long as its session
    // lasts, and this owner's first batch would wait on them. With the lease taken, such a transaction can only
    // fail its commit's epoch check: it is ended now. Its session is in this database and bears the lane's name
    // (the lease's); only sessions this role may signal are ended.
    take.ended_transactions =
        txn.exec_params1(
               "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
               " WHERE datname = current_database() AND application_name = left('projectord:' || $1, 63)"
               " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
               " AND pg_has_role(usesysid, 'USAGE')",
               name)[0]
            .as<std::int64_t>();
    // The standby rows of processes long gone go too: nothing else removes them.
    txn.exec_params0("DELETE FROM projectord.lease_standbys WHERE name = $1 AND (owner = $2 OR seen_at < now() - interval '1 day')",
                     name, owner.id);
  } else {
    const pqxx::row held = txn.exec_params1(std::string("SELECT ") + kHolderColumns +
                                                ", greatest(0, ceil(extract(epoch FROM expires_at - now()) * 1000))"
                                                "::bigint AS expires_in FROM projectord.leases WHERE name = $1",
                                            name);
    take.holder = holder_of(held);
    const bool waited = yields || take.holder->owner == owner.id;
    take.expires_in = std::chrono::milliseconds(held["expires_in"].as<std::int64_t>()) + (waited ? yield : 0ms);
    txn.exec_params0(
        "INSERT INTO projectord.lease_standbys (name, owner, host, pid) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (name, owner) DO UPDATE SET seen_at = now()",
        name, owner.id, owner.host, owner.pid);
  }
  txn.commit();
  return take;
}

std::vector<std::string> renew_leases(pqxx::connection& connection, const LeaseOwner& owner,
                                      const std::vector<HeldLease>& held, std::chrono::milliseconds length) {
  boost::json::array leases;
  for (const HeldLease& lease : held) {
    boost::json::object entry;
    entry["name"] = lease.name;
    entry["epoch"] = lease.epoch;
    leases.emplace_back(std::move(entry));
  }
  pqxx::nontransaction txn(connection);
  const pqxx::result renewed = txn.exec_params(
      "UPDATE projectord.leases l SET renewed_at = now(), expires_at = now() + $3 * interval '1 millisecond'"
      " FROM jsonb_to_recordset($2::jsonb) AS h(name text, epoch bigint)"
      " WHERE l.name = h.name AND l.epoch = h.epoch AND l.owner = $1 AND l.expires_at > l.renewed_at"
      " RETURNING l.name",
      owner.id, boost::json::serialize(leases), length.count());
  std::vector<std::string> names;
  for (const auto& row : renewed) names.emplace_back(row[0].c_str());
  return names;
}

void release_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                   std::int64_t epoch) {
  pqxx::nontransaction txn(connection);
  // expires_at = renewed_at marks it released: a renewal of the owner's already on its way (the keeper's round
  // runs on its own connection) finds nothing to renew, where a lease that merely ran out is still renewed.
  txn.exec_params0(
      "UPDATE projectord.leases SET expires_at = now(), renewed_at = now() WHERE name = $1 AND owner = $2 AND epoch = $3",
      name, owner.id, epoch);
}

void leave_standby(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner) {
  pqxx::nontransaction txn(connection);
  txn.exec_params0("DELETE FROM projectord.lease_standbys WHERE name = $1 AND owner = $2", name, owner.id);
}

void announce_process(pqxx::connection& connection, const LeaseOwner& owner, const std::vector<std::string>& handlers,
                      std::chrono::milliseconds length) {
  pqxx::nontransaction txn(connection);
  txn.exec_params0(
      "INSERT INTO projectord.processes (owner, host, pid, handlers, expires_at)"
      " VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), now() + $5 * interval '1 millisecond')"
      " ON CONFLICT (owner) DO UPDATE SET handlers = excluded.handlers, expires_at = excluded.expires_at",
      owner.id, owner.host, owner.pid, json_array(handlers), length.count());
  // Processes gone for a day leave no row behind: nothing else removes them.
  txn.exec0("DELETE FROM projectord.processes WHERE expires_at < now() - interval '1 day'");
}

void withdraw_process(pqxx::connection& connection, const LeaseOwner& owner) {
  pqxx::nontransaction txn(connection);
  txn.exec_params0("DELETE FROM projectord.processes WHERE owner = $1", owner.id);
}

std::vector<LiveProcess> live_processes(pqxx::connection& connection) {
  pqxx::read_transaction txn(connection);
  const pqxx::result rows = txn.exec(
      "SELECT p.owner, p.host, p.pid, to_jsonb(p.handlers)::text, (SELECT coalesce(jsonb_agg(l.name ORDER BY l.name), '[]')"
      " FROM projectord.leases l WHERE l.owner = p.owner AND l.expires_at > now() AND l.name = ANY (p.handlers))::text"
      " FROM projectord.processes p WHERE p.expires_at > now() ORDER BY p.owner");
  txn.commit();
  const auto names = [](const char* json) {
    std::vector<std::string> out;
    const boost::json::value parsed = boost::json::parse(json);
    for (const auto& name : parsed.as_array()) out.emplace_back(name.as_string());
    return out;
  };
  std::vector<LiveProcess> live;
  for (const auto& row : rows) {
    live.push_back({row[0].c_str(), row[1].c_str(), row[2].as<std::int64_t>(), names(row[3].c_str()),
                    names(row[4].c_str())});
  }
  return live;
}

std::optional<LeaseHolder> lease_holder(pqxx::connection& connection, const std::string& name) {
  pqxx::read_transaction txn(connection);
  const pqxx::result row =
      txn.exec_params(std::string("SELECT ") + kHolderColumns + " FROM projectord.leases WHERE name = $1", name);
  txn.commit();
  if (row.empty()) return std::nullopt;
  return holder_of(row[0]);
}

std::vector<LeaseStandby> lease_standbys(pqxx::connection& connection, const std::string& name,
                                         std::chrono::milliseconds recently) {
  return lease_standbys(connection, std::vector<std::string>{name}, recently).at(name);
}

std::map<std::string, std::vector<LeaseStandby>> lease_standbys(pqxx::connection& connection,
                                                                const std::vector<std::string>& names,
                                                                std::chrono::milliseconds recently) {
  pqxx::read_transaction txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT s.name, s.host, s.pid, s.since::text FROM projectord.lease_standbys s"
      " WHERE s.name IN (SELECT jsonb_array_elements_text($1::jsonb))"
      " AND s.seen_at > now() - $2 * interval '1 millisecond'"
      " AND NOT EXISTS (SELECT 1 FROM projectord.leases l WHERE l.name = s.name AND l.owner = s.owner)"
      " ORDER BY s.name, s.since, s.host, s.pid",
      json_array(names), recently.count());
  txn.commit();
  std::map<std::string, std::vector<LeaseStandby>> standbys;
  for (const std::string& name : names) standbys[name];
  for (const auto& row : rows) {
    standbys[row[0].c_str()].push_back({row[1].c_str(), row[2].as<std::int64_t>(), row[3].c_str()});
  }
  return standbys;
}

}  // namespace projectord::checkpoints
