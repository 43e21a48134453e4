#pragma once
/// Leases in projectord.leases: one row per checkpoint name (a handler, or a rebuild's shadow NAME:rebuild),
/// held by one process at a time until its expiry and renewed by that process in short transactions. Every
/// take raises the row's epoch, and a lane's checkpoint moves only in a statement that checks its epoch
/// (CheckpointStore::fence): a process that lost its lease while it was paused or cut off cannot commit a
/// batch, whatever it still believes. Any process may take a lease that expired or was released; the holder
/// may take its own again (a new session after a reconnect). A process that waits for a lease notes itself in
/// projectord.lease_standbys, so that status can name the standbys. `release` frees a lease at once: at
/// shutdown, or whenever a process lets a handler go at a transaction boundary.
#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

namespace projectord::checkpoints {

/// A process that holds or waits for leases. `id` is unique to one run of the process (a pid can be reused).
struct LeaseOwner {
  std::string id;
  std::string host;
  std::int64_t pid = 0;
};

/// The owner this process uses for all its leases: host name, pid and a nonce of this run.
const LeaseOwner& this_process();

/// Who holds a lease, as stored.
struct LeaseHolder {
  std::string owner;  ///< LeaseOwner::id
  std::string host;
  std::int64_t pid = 0;
  std::int64_t epoch = 0;
  std::string since;       ///< when it took the lease, timestamptz as text
  std::string expires_at;  ///< timestamptz as text
  bool expired = false;
};

/// A process noted as waiting for a lease.
struct LeaseStandby {
  std::string host;
  std::int64_t pid = 0;
  std::string since;  ///< timestamptz as text
};

/// What `take_lease` found: the epoch of the lease it took, or who else holds it and for how long yet.
struct LeaseTake {
  std::optional<std::int64_t> epoch;
  std::string since;                        ///< when taken: its acquired_at, timestamptz as text
  std::optional<LeaseHolder> holder;        ///< when not taken
  std::chrono::milliseconds expires_in{0};  ///< when not taken: until the holder's lease expires
};

/// Takes the lease on `name` for `length` when it is free (or `owner`'s already), raising its epoch; else
/// notes `owner` as a standby of it. One transaction.
LeaseTake take_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                     std::chrono::milliseconds length);

/// Extends the lease to `length` from now while `owner` holds it with `epoch`; false when it has lost it.
bool renew_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                 std::int64_t epoch, std::chrono::milliseconds length);

/// Lets the lease go (it expires now) while `owner` holds it with `epoch`, and forgets `owner` as a standby.
void release_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                   std::int64_t epoch);

/// Stops noting `owner` as a standby of `name`: it no longer waits for it.
void leave_standby(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner);

/// Who holds the lease on `name`; nothing when it was never taken.
std::optional<LeaseHolder> lease_holder(pqxx::connection& connection, const std::string& name);

/// The processes other than the holder that asked for the lease on `name` within `recently`, earliest first.
std::vector<LeaseStandby> lease_standbys(pqxx::connection& connection, const std::string& name,
                                         std::chrono::milliseconds recently);

}  // namespace projectord::checkpoints
