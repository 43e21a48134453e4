#include "checkpoints/leases.hpp"

#include <unistd.h>

#include <array>
#include <climits>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <random>

namespace projectord::checkpoints {

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

constexpr const char* kHolderColumns =
    "owner, host, pid, epoch, acquired_at::text AS acquired_at, expires_at::text AS expires_at,"
    " expires_at <= now() AS expired";

}  // namespace

const LeaseOwner& this_process() {
  static const LeaseOwner owner = make_this_process();
  return owner;
}

LeaseTake take_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                     std::chrono::milliseconds length) {
  pqxx::work txn(connection);
  const pqxx::result taken = txn.exec_params(
      "INSERT INTO projectord.leases AS l (name, owner, host, pid, epoch, acquired_at, renewed_at, expires_at)"
      " VALUES ($1, $2, $3, $4, 1, now(), now(), now() + $5 * interval '1 millisecond')"
      " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,"
      " epoch = l.epoch + 1, acquired_at = now(), renewed_at = now(), expires_at = excluded.expires_at"
      " WHERE l.expires_at <= now() OR l.owner = excluded.owner"
      " RETURNING epoch, acquired_at::text",
      name, owner.id, owner.host, owner.pid, length.count());
  LeaseTake take;
  if (!taken.empty()) {
    take.epoch = taken[0][0].as<std::int64_t>();
    take.since = taken[0][1].c_str();
    // The standby rows of processes long gone go too: nothing else removes them.
    txn.exec_params0("DELETE FROM projectord.lease_standbys WHERE name = $1 AND (owner = $2 OR seen_at < now() - interval '1 day')",
                     name, owner.id);
  } else {
    const pqxx::row held = txn.exec_params1(std::string("SELECT ") + kHolderColumns +
                                                ", greatest(0, ceil(extract(epoch FROM expires_at - now()) * 1000))"
                                                "::bigint AS expires_in FROM projectord.leases WHERE name = $1",
                                            name);
    take.holder = holder_of(held);
    take.expires_in = std::chrono::milliseconds(held["expires_in"].as<std::int64_t>());
    txn.exec_params0(
        "INSERT INTO projectord.lease_standbys (name, owner, host, pid) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (name, owner) DO UPDATE SET seen_at = now()",
        name, owner.id, owner.host, owner.pid);
  }
  txn.commit();
  return take;
}

bool renew_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                 std::int64_t epoch, std::chrono::milliseconds length) {
  pqxx::nontransaction txn(connection);
  const pqxx::result renewed = txn.exec_params(
      "UPDATE projectord.leases SET renewed_at = now(), expires_at = now() + $4 * interval '1 millisecond'"
      " WHERE name = $1 AND owner = $2 AND epoch = $3",
      name, owner.id, epoch, length.count());
  return renewed.affected_rows() == 1;
}

void release_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                   std::int64_t epoch) {
  pqxx::nontransaction txn(connection);
  txn.exec_params0("UPDATE projectord.leases SET expires_at = now() WHERE name = $1 AND owner = $2 AND epoch = $3",
                   name, owner.id, epoch);
}

void leave_standby(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner) {
  pqxx::nontransaction txn(connection);
  txn.exec_params0("DELETE FROM projectord.lease_standbys WHERE name = $1 AND owner = $2", name, owner.id);
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
  pqxx::read_transaction txn(connection);
  const pqxx::result rows = txn.exec_params(
      "SELECT s.host, s.pid, s.since::text FROM projectord.lease_standbys s"
      " WHERE s.name = $1 AND s.seen_at > now() - $2 * interval '1 millisecond'"
      " AND NOT EXISTS (SELECT 1 FROM projectord.leases l WHERE l.name = s.name AND l.owner = s.owner)"
      " ORDER BY s.since, s.host, s.pid",
      name, recently.count());
  txn.commit();
  std::vector<LeaseStandby> standbys;
  for (const auto& row : rows) standbys.push_back({row[0].c_str(), row[1].as<std::int64_t>(), row[2].c_str()});
  return standbys;
}

}  // namespace projectord::checkpoints
