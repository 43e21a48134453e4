#include "bench/support/reference_sql.hpp"

namespace projectord::bench {

namespace {

// The events of application $1 that `condition` selects, decoded, one row each: id, user_id, version,
// kind, at (the event time), username, email, new_email, first_name, last_name, phone, data (the payload
// as the daemon decodes it). Unused columns cost nothing: the outer level is inlined into its user.
std::string events(const std::string& condition) {
  return "SELECT id, originator_id::text AS user_id, originator_version AS version,"
         " substring(topic FROM '[^.:]*$') AS kind,"  // the class name: after the last '.' or ':'
         " (s->'timestamp'->>'_data_')::timestamptz AS at, s->>'username' AS username, s->>'email' AS email,"
         " s->>'new_email' AS new_email, s->>'first_name' AS first_name, s->>'last_name' AS last_name,"
         " s->>'phone' AS phone,"
         " s || jsonb_build_object('timestamp', s->'timestamp'->'_data_')"
         "   || CASE WHEN s->'deactivated_by'->>'_type_' = 'uuid_hex'"
         "      THEN jsonb_build_object('deactivated_by', (s->'deactivated_by'->>'_data_')::uuid::text)"
         "      ELSE '{}'::jsonb END AS data"
         // OFFSET 0 keeps the planner from inlining `s` into every expression: one JSON parse per event.
         " FROM (SELECT id, originator_id, originator_version, topic, convert_from(state, 'UTF8')::jsonb AS s"
         " FROM stored_events WHERE application_name = $1 AND " +
         condition + " OFFSET 0) raw";
}

// The value of `expression` at the user's newest event that `filter` selects (NULL when none does).
std::string newest(const std::string& expression, const std::string& filter) {
  return "(array_agg(" + expression + " ORDER BY id DESC) FILTER (WHERE " + filter + "))[1]";
}

}  // namespace

std::string insert_event_log_sql(const std::string& table) {
  return "INSERT INTO " + table +
         " (user_id, event_type, event_version, event_data, \"timestamp\", processed_at, global_position)"
         " SELECT user_id, kind, version, data, at, now(), id FROM (" +
         events("id <= $2") + ") e";
}

std::string insert_users_sql(const std::string& table) {
  // A user's row exists from their first UserRegistered on; events before it change nothing. From then on
  // each column holds what the newest event that assigns it assigned, or its value at creation.
  const std::string registered = "kind = 'UserRegistered'";
  const std::string profile = "kind = 'UserProfileUpdated'";
  return "INSERT INTO " + table +
         " (user_id, username, email, first_name, last_name, phone, is_active, created_at, updated_at,"
         " deactivated_at, current_version, last_event_processed)"
         " SELECT user_id, " +
         newest("username", registered) + ", " +
         newest("CASE WHEN " + registered + " THEN email ELSE new_email END",
                registered + " OR kind = 'UserEmailChanged'") +
         ", " + newest("coalesce(first_name, '')", registered + " OR (" + profile + " AND first_name IS NOT NULL)") +
         ", " + newest("coalesce(last_name, '')", registered + " OR (" + profile + " AND last_name IS NOT NULL)") +
         ", coalesce(" + newest("phone", profile + " AND phone IS NOT NULL") +
         ", ''), NOT bool_or(kind = 'UserDeactivated'), min(at) FILTER (WHERE id = first_registered), now(), " +
         newest("at", "kind = 'UserDeactivated'") + ", " + newest("version", "true") +
         ", max(id) FROM (SELECT *, min(id) FILTER (WHERE " + registered +
         ") OVER (PARTITION BY user_id) AS first_registered FROM (" + events("id <= $2") +
         ") e WHERE kind IN ('UserRegistered', 'UserEmailChanged', 'UserProfileUpdated', 'UserDeactivated')) k"
         " WHERE id >= first_registered GROUP BY user_id";
}

std::string next_event_sql() {
  return "SELECT id, user_id, version, kind, at::text, username, email, new_email, first_name, last_name, phone,"
         " data::text FROM (" +
         events("id > $2 ORDER BY id LIMIT 1") + ") e";
}

}  // namespace projectord::bench
