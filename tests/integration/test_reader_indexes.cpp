// Reader indexes (handlers/reader_index.hpp) against a real PostgreSQL: a read-model table that Django's
// migrations created, with Django's index names, gets no second index on the same columns; a bare table gets
// every one, once.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "handlers/django_tables.hpp"
#include "tests/support/test_database.hpp"

using projectord::handlers::create_reader_index;
using projectord::handlers::user_projection_ddl;
using projectord::handlers::user_projection_reader_indexes;
using projectord::testing::TestDatabase;

namespace {

void create_user_projection(const TestDatabase& db) {
  for (const auto& statement : user_projection_ddl("user_projection")) db.exec(statement.sql);
}

// What `manage.py sqlmigrate` adds to the table for the Django guide's UserProjection model: db_index=True columns
// (with a varchar_pattern_ops "_like" twin for text), the unique columns' "_like" indexes, Meta.indexes.
// Django hashes the names; these suffixes have its shape.
void add_django_indexes(const TestDatabase& db) {
  db.exec(R"(
    CREATE INDEX "user_projection_user_id_5f5a1c36_like" ON "user_projection" ("user_id" varchar_pattern_ops);
    CREATE INDEX "user_projection_username_0a1e2fd8_like" ON "user_projection" ("username" varchar_pattern_ops);
    CREATE INDEX "user_projection_email_6e7b2e80" ON "user_projection" ("email");
    CREATE INDEX "user_projection_email_6e7b2e80_like" ON "user_projection" ("email" varchar_pattern_ops);
    CREATE INDEX "user_projection_is_active_3d0b2c1a" ON "user_projection" ("is_active");
    CREATE INDEX "user_projection_created_at_4b1c8e7f" ON "user_projection" ("created_at");
    CREATE INDEX "user_projec_is_acti_8a1c2d_idx" ON "user_projection" ("is_active", "created_at");
    CREATE INDEX "user_projec_email_2b9e4f_idx" ON "user_projection" ("email", "is_active");
    CREATE INDEX "user_projec_usernam_7c3d1a_idx" ON "user_projection" ("username", "is_active");
  )");
}

std::int64_t index_count(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM pg_indexes WHERE tablename = 'user_projection'");
}

// How many of the reader indexes create_reader_index made, each in its own transaction as the lane does.
int create_all(const TestDatabase& db) {
  auto connection = db.connect();
  int created = 0;
  for (const auto& index : user_projection_reader_indexes("user_projection")) {
    pqxx::nontransaction txn(*connection);
    if (create_reader_index(txn, index)) ++created;
  }
  return created;
}

}  // namespace

TEST_CASE("a table Django's migrations indexed gets none of our reader indexes, a bare one all six, once") {
  TestDatabase db;
  create_user_projection(db);

  SECTION("Django's") {
    add_django_indexes(db);
    const std::int64_t django = index_count(db);
    CHECK(django == 12);  // the primary key, two unique constraints and the nine above
    CHECK(create_all(db) == 0);
    CHECK(index_count(db) == django);
  }
  SECTION("bare") {
    CHECK(create_all(db) == 6);
    CHECK(index_count(db) == 3 + 6);
    CHECK(db.query_int("SELECT count(*) FROM pg_indexes WHERE indexname = 'user_projection_email_active_idx'"
                       " AND indexdef LIKE '%(email, is_active)'") == 1);
    CHECK(create_all(db) == 0);
    CHECK(index_count(db) == 3 + 6);
  }
}

TEST_CASE("a LIKE-only, partial, hash, expression or reordered index is not the same as a reader index") {
  TestDatabase db;
  create_user_projection(db);
  // One near miss for each of five reader indexes; (username, is_active) has none.
  db.exec(R"(
    CREATE INDEX "email_like" ON "user_projection" ("email" varchar_pattern_ops);
    CREATE INDEX "active_only" ON "user_projection" ("is_active") WHERE "is_active";
    CREATE INDEX "created_hash" ON "user_projection" USING hash ("created_at");
    CREATE INDEX "created_active" ON "user_projection" ("created_at", "is_active");
    CREATE INDEX "lower_email_active" ON "user_projection" (lower("email"), "is_active");
  )");
  CHECK(create_all(db) == 6);

  // The same key columns with more INCLUDEd serve the same lookups.
  TestDatabase other;
  create_user_projection(other);
  other.exec(R"(CREATE INDEX "covering" ON "user_projection" ("username", "is_active") INCLUDE ("email"))");
  CHECK(create_all(other) == 5);
}

TEST_CASE("a table whose name leaves no room for our suffixes gets all six reader indexes, each its own") {
  TestDatabase db;
  const std::string table = "user_projection_of_the_customer_accounts_in_the_eu_region_v2";  // 60 bytes
  for (const auto& statement : user_projection_ddl(table)) db.exec(statement.sql);
  const auto indexes = user_projection_reader_indexes(table);
  auto connection = db.connect();
  for (const auto& index : indexes) {
    CHECK(index.name.size() <= 63);
    pqxx::nontransaction txn(*connection);
    CHECK(create_reader_index(txn, index));
  }
  // Primary key, the two unique constraints, and the six.
  CHECK(db.query_int("SELECT count(*) FROM pg_indexes WHERE tablename = '" + table + "'") == 3 + 6);
}
