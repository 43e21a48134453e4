#pragma once
/// Session settings every projectord connection gets: an application_name that names the process part
/// using it ("projectord:users", "projectord:listen:shop"), so operators find it in pg_stat_activity, and
/// UTC for timestamps read as text.
#include <pqxx/connection>
#include <string>

namespace projectord::postgres {

void prepare_session(pqxx::connection& connection, const std::string& role);

/// For the write connection of a lane: "off" lets commits return before the WAL is flushed, which keeps
/// exactly-once (read model and checkpoint are lost or kept together) and takes the fsync off live latency.
void set_synchronous_commit(pqxx::connection& connection, const std::string& level);

}  // namespace projectord
