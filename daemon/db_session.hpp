#pragma once
/// Session settings every projectord connection gets: an application_name that names the process part
/// using it ("projectord:users", "projectord:listen:shop"), so operators find it in pg_stat_activity, and
/// UTC for timestamps read as text.
#include <string>

#include <pqxx/connection>

namespace projectord {

void prepare_session(pqxx::connection& connection, const std::string& role);

}  // namespace projectord
