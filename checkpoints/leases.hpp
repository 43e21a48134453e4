#pragma once
/// Leases in projectord.leases: one row per checkpoint name (a handler, or a rebuild's shadow NAME:rebuild),
/// held by one process at a time until its expiry and renewed by that process in short transactions. Every
/// take raises the row's epoch, and a lane's checkpoint moves only in a statement that checks its epoch
/// (CheckpointStore::fence): a process that lost its lease while it was paused or cut off cannot commit a
/// batch, whatever it still believes. Any process may take a lease that expired or was released; the holder
/// may take its own again (a new session after a reconnect). A process that waits for a lease notes itself in
/// projectord.lease_standbys, so that status can name the standbys. `release` frees a lease at once: at
/// shutdown, or whenever a process lets a handler go at a transaction boundary.
///
/// The spread: a process announces itself in projectord.processes with the handlers it runs, renewed with its
/// leases. Each live process's fair share is ⌈M/N⌉ of the M handlers the N live processes run between them. A
/// process at its share yields a free lease for a while to a live process below its share that runs the
/// handler too, and one above its share hands such leases over (daemon/lease_spread.hpp).
#include <chrono>
#include <cstdint>
#include <map>
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
  std::int64_t ended_transactions = 0;      ///< when taken: an earlier holder's write transactions ended
  std::optional<LeaseHolder> holder;        ///< when not taken
  std::chrono::milliseconds expires_in{0};  ///< when not taken: until the holder's lease expires
};

/// Takes the lease on `name` for `length` when it is free (or `owner`'s already), raising its epoch; else
/// notes `owner` as a standby of it. When `owner` holds its fair share and another live process below its
/// share runs `name` too, a free lease is left to that one for `yield` before `owner` takes it. Taking it ends
/// the write transactions still open in this database's sessions named for the lease (an earlier holder's,
/// stopped or cut off mid-transaction). One transaction.
LeaseTake take_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                     std::chrono::milliseconds length, std::chrono::milliseconds yield = {});

/// A lease as its holder knows it.
struct HeldLease {
  std::string name;
  std::int64_t epoch = 0;
};

/// Extends to `length` from now each of `held` that `owner` still holds at its epoch, in one statement; the
/// names of those it renewed (the others it has lost).
std::vector<std::string> renew_leases(pqxx::connection& connection, const LeaseOwner& owner,
                                      const std::vector<HeldLease>& held, std::chrono::milliseconds length);

/// Lets the lease go (it expires now) while `owner` holds it with `epoch`, and forgets `owner` as a standby.
void release_lease(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner,
                   std::int64_t epoch);

/// Stops noting `owner` as a standby of `name`: it no longer waits for it.
void leave_standby(pqxx::connection& connection, const std::string& name, const LeaseOwner& owner);

/// Notes `owner` alive for `length` from now, running `handlers` (lease names).
void announce_process(pqxx::connection& connection, const LeaseOwner& owner, const std::vector<std::string>& handlers,
                      std::chrono::milliseconds length);

/// Takes `owner` out of the live processes at once (a clean shutdown): the others' shares grow now.
void withdraw_process(pqxx::connection& connection, const LeaseOwner& owner);

/// A live process, the handlers it runs and how many of their leases it holds.
struct LiveProcess {
  std::string owner;
  std::string host;
  std::int64_t pid = 0;
  std::vector<std::string> handlers;
  std::vector<std::string> held;  ///< the names among `handlers` whose lease it holds
};

/// The processes alive now, by owner.
std::vector<LiveProcess> live_processes(pqxx::connection& connection);

/// Who holds the lease on `name`; nothing when it was never taken.
std::optional<LeaseHolder> lease_holder(pqxx::connection& connection, const std::string& name);

/// The processes other than the holder that asked for the lease on `name` within `recently`, earliest first.
std::vector<LeaseStandby> lease_standbys(pqxx::connection& connection, const std::string& name,
                                         std::chrono::milliseconds recently);

/// The same for each of `names`, in one query: every name is a key, with no standbys when none asked.
std::map<std::string, std::vector<LeaseStandby>> lease_standbys(pqxx::connection& connection,
                                                                const std::vector<std::string>& names,
                                                                std::chrono::milliseconds recently);

}  // namespace projectord::checkpoints
