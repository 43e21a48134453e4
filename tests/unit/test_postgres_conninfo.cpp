// The connection string every PostgreSQL connection opens with (base/postgres/conninfo.hpp): the URL's own
// options, in either of libpq's syntaxes, plus the TCP keepalive defaults the URL does not set. Results are
// read back with libpq's own parser, so the checks hold whatever order the options come in.
#include <libpq-fe.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>

#include "base/postgres/conninfo.hpp"

using projectord::postgres::with_keepalives;

namespace {

using Options = std::map<std::string, std::string>;

// The options a connection string sets, as libpq reads them.
Options parsed_conninfo(const std::string& conninfo) {
  char* error = nullptr;
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(conninfo.c_str(), &error),
                                                                              &PQconninfoFree);
  if (!options) {
    const std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    FAIL("libpq cannot parse the rewritten string: " << message);
  }
  Options set;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (option->val != nullptr) set[option->keyword] = option->val;
  }
  return set;
}

const Options kDefaults{{"keepalives", "1"},
                        {"keepalives_idle", "15"},
                        {"keepalives_interval", "5"},
                        {"keepalives_count", "4"},
                        {"tcp_user_timeout", "60000"}};

Options with_defaults(Options options) {
  options.insert(kDefaults.begin(), kDefaults.end());  // keeps the options already there
  return options;
}

}  // namespace

TEST_CASE("a keyword/value URL keeps its options and gets the keepalive defaults") {
  const Options expected = with_defaults(
      {{"host", "db.internal"}, {"port", "5433"}, {"user", "app"}, {"password", "secret"}, {"dbname", "shop"}});
  CHECK(parsed_conninfo(with_keepalives("host=db.internal port=5433 user=app password=secret dbname=shop")) ==
        expected);
}

TEST_CASE("a postgresql:// URI is rewritten as keyword/value with its options and the keepalive defaults") {
  const Options expected = with_defaults({{"host", "db.internal"},
                                          {"port", "5433"},
                                          {"user", "app"},
                                          {"password", "p@ss"},
                                          {"dbname", "shop"},
                                          {"sslmode", "require"},
                                          {"application_name", "shop admin"}});
  const std::string conninfo =
      with_keepalives("postgresql://app:p%40ss@db.internal:5433/shop?sslmode=require&application_name=shop%20admin");
  CHECK_FALSE(conninfo.starts_with("postgresql:"));
  CHECK(parsed_conninfo(conninfo) == expected);
  CHECK(parsed_conninfo(with_keepalives("postgres://db.internal/shop")) ==
        with_defaults({{"host", "db.internal"}, {"dbname", "shop"}}));
}

TEST_CASE("a keepalive setting the URL gives itself wins over the default") {
  Options keyword_value = parsed_conninfo(with_keepalives("host=db.internal keepalives_idle=120 tcp_user_timeout=0"));
  CHECK(keyword_value["keepalives_idle"] == "120");
  CHECK(keyword_value["tcp_user_timeout"] == "0");
  CHECK(keyword_value["keepalives_interval"] == "5");

  Options uri = parsed_conninfo(with_keepalives("postgresql://db.internal/shop?keepalives=0&keepalives_count=9"));
  CHECK(uri["keepalives"] == "0");
  CHECK(uri["keepalives_count"] == "9");
  CHECK(uri["keepalives_idle"] == "15");
}

TEST_CASE("a Unix-socket URL keeps its socket directory") {
  const Options expected = with_defaults({{"host", "/var/run/postgresql"}, {"dbname", "shop"}});
  CHECK(parsed_conninfo(with_keepalives("postgresql:///shop?host=/var/run/postgresql")) == expected);
  CHECK(parsed_conninfo(with_keepalives("postgresql://%2Fvar%2Frun%2Fpostgresql/shop")) == expected);
  CHECK(parsed_conninfo(with_keepalives("host=/var/run/postgresql dbname=shop")) == expected);
}

TEST_CASE("several hosts of a URI stay one list each of hosts and ports") {
  const Options options =
      parsed_conninfo(with_keepalives("postgresql://one:5432,two:5433/shop?target_session_attrs=read-write"));
  CHECK(options.at("host") == "one,two");
  CHECK(options.at("port") == "5432,5433");
  CHECK(options.at("target_session_attrs") == "read-write");
}

TEST_CASE("values with spaces, quotes and backslashes come through the rewriting unchanged") {
  const std::string conninfo = with_keepalives(R"(host=db user=app password='it\'s a \\ pass' dbname='my shop')");
  CHECK(conninfo.find(R"(password='it\'s a \\ pass')") != std::string::npos);
  const Options options = parsed_conninfo(conninfo);
  CHECK(options.at("password") == R"(it's a \ pass)");
  CHECK(options.at("dbname") == "my shop");

  CHECK(parsed_conninfo(with_keepalives("postgresql://app:%27%5C%20x@db/shop")).at("password") == R"('\ x)");
}

TEST_CASE("an empty URL gets only the keepalive defaults, leaving the rest to libpq's environment") {
  CHECK(parsed_conninfo(with_keepalives("")) == kDefaults);
}

TEST_CASE("a string libpq cannot parse is returned as it is") {
  CHECK(with_keepalives("host=db port") == "host=db port");
  CHECK(with_keepalives("postgresql://app:50%@db/shop") == "postgresql://app:50%@db/shop");
}
