#include "tests/support/generic_store.hpp"

#include <pqxx/pqxx>

#include "checkpoints/schema.hpp"

namespace projectord::testing {

using namespace std::chrono_literals;

config::PostgresSource generic_source(const TestDatabase& db) {
  config::PostgresSource source;
  source.name = "store";
  source.url = db.url();
  source.preset = "generic";
  source.table = "events";
  source.position_column = "id";
  source.stream_id_column = "stream_id";
  source.type_column = "type";
  source.payload_column = "data";
  source.codec = config::Codec::json;
  source.notify_channel = "projectord_events";
  source.poll_interval = 20ms;
  source.hole_grace = 50ms;
  source.max_hole_wait = 60s;
  source.hole_recheck = 1s;
  source.batch_size = 100;
  return source;
}

void install_projectord_schema(const TestDatabase& db) {
  pqxx::connection connection(db.url());
  pqxx::work txn(connection);
  for (const std::string& sql : checkpoints::install_schema_sql()) txn.exec(sql);
  txn.commit();
}

void create_store(const TestDatabase& db) {
  db.exec("CREATE TABLE events (id bigserial PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL, data jsonb)");
  install_projectord_schema(db);
}

std::string insert_event(int n) {
  return "INSERT INTO events (stream_id, type, data) VALUES ('s', 'Counted', '{\"n\": " + std::to_string(n) + "}')";
}

// Events n = first..last in one transaction, as insert_event writes them one by one.
void insert_events(const TestDatabase& db, int first, int last) {
  db.exec(
      "INSERT INTO events (stream_id, type, data) SELECT 's', 'Counted', jsonb_build_object('n', g)"
      " FROM generate_series(" +
      std::to_string(first) + ", " + std::to_string(last) + ") g");
}

}  // namespace projectord::testing
