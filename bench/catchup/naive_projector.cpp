#include "bench/catchup/naive_projector.hpp"

#include <optional>
#include <pqxx/transaction>

#include "bench/support/reference_sql.hpp"
#include "bench/support/store.hpp"

namespace projectord::bench {

namespace {

using Text = std::optional<std::string>;

Text text_of(const pqxx::field& field) { return field.is_null() ? Text() : Text(field.c_str()); }

// One UserProjection row as the Django model holds it between get() and save().
struct UserRow {
  Text username, email, first_name, last_name, phone;
  bool is_active = true;
  Text created_at, deactivated_at;
};

}  // namespace

std::int64_t run_naive_projector(pqxx::connection& connection, const NaiveTables& tables, std::int64_t count) {
  {
    pqxx::work txn(connection);
    txn.exec("CREATE TABLE " + tables.checkpoint + " (name text PRIMARY KEY, position bigint NOT NULL)");
    txn.exec("INSERT INTO " + tables.checkpoint + " VALUES ('users', 0)");
    txn.commit();
  }
  connection.prepare("next_event", next_event_sql());
  connection.prepare("get_user",
                     "SELECT username, email, first_name, last_name, phone, is_active, created_at::text,"
                     " deactivated_at::text FROM " +
                         tables.users + " WHERE user_id = $1");
  connection.prepare("insert_user",
                     "INSERT INTO " + tables.users +
                         " (user_id, username, email, first_name, last_name, phone, is_active, created_at,"
                         " updated_at, deactivated_at, current_version, last_event_processed)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9, $10, $11)");
  connection.prepare("save_user", "UPDATE " + tables.users +
                                      " SET username = $2, email = $3, first_name = $4, last_name = $5, phone = $6,"
                                      " is_active = $7, created_at = $8, updated_at = now(), deactivated_at = $9,"
                                      " current_version = $10, last_event_processed = $11 WHERE user_id = $1");
  if (!tables.event_log.empty()) {
    connection.prepare("append_log", "INSERT INTO " + tables.event_log +
                                         " (user_id, event_type, event_version, event_data, \"timestamp\","
                                         " processed_at, global_position) VALUES ($1, $2, $3, $4, $5, now(), $6)");
  }
  connection.prepare("move_checkpoint", "UPDATE " + tables.checkpoint + " SET position = $1 WHERE name = 'users'");

  const std::string application(kApplication);
  std::int64_t position = 0;
  std::int64_t done = 0;
  for (; done < count; ++done) {
    pqxx::work txn(connection);
    const pqxx::result next = txn.exec_prepared("next_event", application, position);
    if (next.empty()) break;
    const pqxx::row event = next[0];
    position = event[0].as<std::int64_t>();
    const std::string user_id = event[1].c_str();
    const std::int64_t version = event[2].as<std::int64_t>();
    const std::string kind = event[3].c_str();
    const std::string at = event[4].c_str();
    const bool known = kind == "UserRegistered" || kind == "UserEmailChanged" || kind == "UserProfileUpdated" ||
                       kind == "UserDeactivated";

    if (known) {
      const pqxx::result found = txn.exec_prepared("get_user", user_id);
      const bool exists = !found.empty();
      UserRow user;
      if (exists) {
        const pqxx::row r = found[0];
        user = {text_of(r[0]), text_of(r[1]),   text_of(r[2]), text_of(r[3]),
                text_of(r[4]), r[5].as<bool>(), text_of(r[6]), text_of(r[7])};
      }
      if (kind == "UserRegistered") {
        user.username = text_of(event[5]);
        user.email = text_of(event[6]);
        user.first_name = text_of(event[8]).value_or("");
        user.last_name = text_of(event[9]).value_or("");
        if (!exists) {
          user.phone = "";
          user.is_active = true;
          user.created_at = at;
          user.deactivated_at.reset();
        }
      } else if (kind == "UserEmailChanged") {
        user.email = text_of(event[7]);
      } else if (kind == "UserProfileUpdated") {
        if (!event[8].is_null()) user.first_name = event[8].c_str();
        if (!event[9].is_null()) user.last_name = event[9].c_str();
        if (!event[10].is_null()) user.phone = event[10].c_str();
      } else {
        user.is_active = false;
        user.deactivated_at = at;
      }
      // An event for a user with no row changes nothing: the guide's handler logs a warning and returns.
      if (exists || kind == "UserRegistered") {
        txn.exec_prepared(exists ? "save_user" : "insert_user", user_id, user.username, user.email, user.first_name,
                          user.last_name, user.phone, user.is_active, user.created_at, user.deactivated_at, version,
                          position);
      }
    }
    if (!tables.event_log.empty())
      txn.exec_prepared("append_log", user_id, kind, version, event[11].c_str(), at, position);
    txn.exec_prepared("move_checkpoint", position);
    txn.commit();
  }
  return done;
}

}  // namespace projectord::bench
