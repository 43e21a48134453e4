#pragma once
/// Session settings every projectord connection gets: an application_name that names the process part
/// using it ("projectord:users", "projectord:listen:shop"), so operators find it in pg_stat_activity, and
/// UTC for timestamps read as text. Both are set for the session: a transaction pooler (pgbouncer) keeps
/// these two for each client and sets them on whichever server session it hands the client. A lane's write
/// sessions bear its lease's name alone (a handler's, a partition's NAME/p, a rebuild's NAME:rebuild): a
/// process taking the lease over finds them by it (checkpoints/leases.hpp). Every other part's name has a
/// character that handler names cannot have.
///
/// The other settings a connection's transactions need (a lane's synchronous_commit, a rebuild's search_path)
/// go through SessionSettings, which keeps them where the pooling lets them live.
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>
#include <utility>
#include <vector>

#include "base/postgres/pooling.hpp"

namespace projectord::postgres {

void prepare_session(pqxx::connection& connection, const std::string& role);

/// Settings of one user of connections (a lane), remembered. On a session connection `set` sets each for the
/// session at once, `apply` sets them all on another session (a connection the pool lent anew), and `begin`
/// does nothing; behind a transaction pooler `set` and `apply` only remember, and `begin`, called first in each
/// of the connection's transactions, sets every one remembered for that transaction (SET LOCAL), in one
/// statement. A setting that only matters at commit (synchronous_commit) still must be in place before it.
class SessionSettings {
 public:
  explicit SessionSettings(Pooling pooling) : pooling_(pooling) {}

  /// A new session of the user: the settings remembered for the last one are forgotten.
  void reset() { settings_.clear(); }

  void set(pqxx::connection& connection, const std::string& name, const std::string& value);

  void apply(pqxx::connection& connection) const;

  void begin(pqxx::transaction_base& txn) const;

 private:
  Pooling pooling_;
  std::vector<std::pair<std::string, std::string>> settings_;
};

}  // namespace projectord::postgres
