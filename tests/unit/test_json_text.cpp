// JSON text of the endpoints (daemon/http/json_text.hpp): numbers as a person reads them.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "daemon/http/json_text.hpp"

using projectord::http::to_json_text;

TEST_CASE("doubles are written as decimals with a fraction part, not in exponent form") {
  CHECK(to_json_text(0.0) == "0.0");
  CHECK(to_json_text(1.5) == "1.5");
  CHECK(to_json_text(12.25) == "12.25");
  CHECK(to_json_text(300.0) == "300.0");
  CHECK(to_json_text(-0.125) == "-0.125");
  CHECK(to_json_text(0.1) == "0.1");
  CHECK(boost::json::parse(to_json_text(1e300)).as_double() == 1e300);
}

TEST_CASE("a status-like object keeps its integers, strings, booleans and nulls and nests its doubles") {
  const boost::json::value status = {
      {"ready", true},
      {"handlers", boost::json::array{boost::json::object{
                       {"name", "users \"main\""}, {"position", 42}, {"lag_seconds", 0.0}, {"rebuild", nullptr}}}}};
  const std::string text = to_json_text(status);
  CHECK(text == R"({"ready":true,"handlers":[{"name":"users \"main\"","position":42,"lag_seconds":0.0,"rebuild":null}]})");
  CHECK(boost::json::parse(text) == status);
}
