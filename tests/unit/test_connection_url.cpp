// Connection URLs are checked at load (config/connection_url.hpp): a bad one is named by file, line and key,
// and nothing of its value, which may hold a password, reaches the message.
#include <catch2/catch.hpp>
#include <string>

#include "config/connection_url.hpp"
#include "config/loader.hpp"
#include "handlers/registry.hpp"
#include "tests/unit/config_text.hpp"

using namespace projectord::config;
using projectord::testing::error_lines;
using projectord::testing::load_config;

namespace {

const std::string kShopSource = "[sources.shop]\npreset = \"eventsourcing_django\"\napplication_name = \"Shop\"\n";

}  // namespace

TEST_CASE("libpq's URIs and key=value strings that it parses are accepted") {
  CHECK(postgres_url_problem("postgresql://app:p%25ss@db.internal:5433/shop?sslmode=require").empty());
  CHECK(postgres_url_problem("postgres://localhost/app").empty());
  CHECK(postgres_url_problem("host=db port=5432 user=app password='s3cr%t w' dbname=shop").empty());
}

TEST_CASE("a bare percent sign in a URI password is refused with a fixed description, never the password") {
  const std::string problem = postgres_url_problem("postgresql://app:Pw%zzSecret@db/shop");
  CHECK_THAT(problem, Catch::Contains("%25"));
  CHECK(problem.find("Pw") == std::string::npos);
  CHECK(problem.find("zzSecret") == std::string::npos);
}

TEST_CASE("libpq's message is not repeated when it quotes a part of the connection string") {
  for (const std::string bad : {"host=db password='Unterminated-Secret", "host=db Quoted-Secret", "postgresql://db/shop?Secret-Param=1",
                                "postgresql://app:pw@[::1/db?Secret-Param=1"}) {
    const std::string problem = postgres_url_problem(bad);
    INFO(bad << " -> " << problem);
    CHECK_FALSE(problem.empty());
    CHECK(problem.find("Secret") == std::string::npos);
    CHECK(problem.find('"') == std::string::npos);
  }
}

TEST_CASE("every connection URL of a config is checked at load and reported by file, line and key only") {
  const LoadResult result = load_config(R"toml([database]
url = "postgresql://app:Db%Secret1@db/shop"
[sources.shop]
preset = "eventsourcing_django"
application_name = "Shop"
url = "host=store password='Source-Secret2"
[sources.orders]
kind = "redis"
url = "redis://:Redis/Secret3@cache:6379"
stream = "orders"
[handlers.users]
kind = "users"
source = "shop"
[handlers.tasks]
kind = "celery"
source = "shop"
url = "redis://:Celery/Secret4@broker:6379"
task = "users.tasks.welcome"
)toml");
  const std::string errors = error_lines(result);
  INFO(errors);
  CHECK_THAT(errors, Catch::StartsWith("test.toml:2: database.url: not a valid PostgreSQL URI"));
  CHECK_THAT(errors, Catch::Contains("test.toml:6: sources.shop.url: not a valid PostgreSQL connection string"));
  CHECK_THAT(errors, Catch::Contains("test.toml:9: sources.orders.url: redis URL: "));
  CHECK_THAT(errors, Catch::Contains("test.toml:17: handlers.tasks.url: redis URL: "));
  for (const char* secret : {"Secret1", "Secret2", "Secret3", "Secret4"}) CHECK(errors.find(secret) == std::string::npos);
}

TEST_CASE("a source without a url of its own is not checked twice") {
  const LoadResult result = load_config("[database]\nurl = \"postgresql://app:Db%Secret@db/shop\"\n" + kShopSource +
                                        "[handlers.users]\nkind = \"users\"\n");
  INFO(error_lines(result));
  CHECK(result.errors.size() == 1);
}
