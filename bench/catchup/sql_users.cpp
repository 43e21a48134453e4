#include "bench/catchup/sql_users.hpp"

namespace projectord::bench {

HandlerConfig sql_users_handler(const std::string& name, const std::string& table) {
  const std::string statement = "\n[[handlers." + name + ".statements]]\n";
  // A registration of a known user overwrites its names and email and keeps the rest; an event of a user with
  // no row updates nothing.
  return {name, "kind = \"sql\"\n" + statement + "on = \"UserRegistered\"\nsql = \"\"\"\nINSERT INTO " + table +
                    " (user_id, username, email, first_name, last_name, phone, is_active, created_at,\n"
                    "  updated_at, deactivated_at, current_version, last_event_processed)\n"
                    "VALUES ($1, $2, $3, coalesce($4, ''), coalesce($5, ''), '', true, $6, now(), NULL, $7, $8)\n"
                    "ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, email = excluded.email,\n"
                    "  first_name = excluded.first_name, last_name = excluded.last_name,\n"
                    "  updated_at = excluded.updated_at, current_version = excluded.current_version,\n"
                    "  last_event_processed = excluded.last_event_processed\"\"\"\n"
                    "params = [\"stream_id\", \"data.username\", \"data.email\", \"data.first_name\","
                    " \"data.last_name\", \"recorded_at\", \"version\", \"position\"]\n" +
                    statement + "on = \"UserEmailChanged\"\nsql = \"\"\"\nUPDATE " + table +
                    " SET email = $2, updated_at = now(), current_version = $3,\n"
                    "  last_event_processed = $4 WHERE user_id = $1\"\"\"\n"
                    "params = [\"stream_id\", \"data.new_email\", \"version\", \"position\"]\n" +
                    statement + "on = \"UserProfileUpdated\"\nsql = \"\"\"\nUPDATE " + table +
                    " SET first_name = coalesce($2, first_name),\n"
                    "  last_name = coalesce($3, last_name), phone = coalesce($4, phone), updated_at = now(),\n"
                    "  current_version = $5, last_event_processed = $6 WHERE user_id = $1\"\"\"\n"
                    "params = [\"stream_id\", \"data.first_name\", \"data.last_name\", \"data.phone\", \"version\","
                    " \"position\"]\n" +
                    statement + "on = \"UserDeactivated\"\nsql = \"\"\"\nUPDATE " + table +
                    " SET is_active = false, deactivated_at = $2, updated_at = now(),\n"
                    "  current_version = $3, last_event_processed = $4 WHERE user_id = $1\"\"\"\n"
                    "params = [\"stream_id\", \"recorded_at\", \"version\", \"position\"]\n"};
}

}  // namespace projectord::bench
