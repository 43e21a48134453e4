// Handler kinds beyond the built-in ones: their keys join the option table, so loading, --help and
// file:line:key errors cover them as they cover the built-in kinds'.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "config/loader.hpp"
#include "config/option_table.hpp"
#include "handlers/builtin_kinds.hpp"

using namespace projectord::config;

namespace {

// clang-format off
const std::vector<Option> kTallyOptions{
    {.section = "handlers.*", .key = "amount_path", .type = OptionType::string, .reloadable = true,
     .help = "Event path of the amount.", .required = true},
    {.section = "handlers.*", .key = "limit", .type = OptionType::integer, .default_value = "10", .reloadable = true,
     .help = "Largest amount counted.", .min_value = 1, .max_value = 100},
};
// clang-format on

std::vector<HandlerKind> kinds_with(HandlerKind extra) {
  std::vector<HandlerKind> kinds;
  for (const auto& kind : projectord::handlers::builtin_kinds()) kinds.push_back(kind.schema);
  kinds.push_back(std::move(extra));
  return kinds;
}

HandlerKind tally() {
  return {.name = "tally", .default_table = "tallies", .options = kTallyOptions,
          .load = [](KindSection& s, Handler&) {
            if (s.str("amount_path").starts_with("metadata.")) s.error("amount_path", "must be in data");
          }};
}

const std::string kHead = R"toml([database]
url = "postgres://localhost/app"
[sources.shop]
preset = "eventsourcing_django"
application_name = "Shop"
)toml";  // lines 1-5

std::string errors_of(const LoadResult& result) {
  std::string text;
  for (const std::string& error : result.errors) text += error + "\n";
  return text;
}

}  // namespace

TEST_CASE("a registered kind's keys load into the handler's options with their defaults and default table") {
  const OptionTable options(kinds_with(tally()));
  const LoadResult result =
      load_config_text(kHead + "[handlers.totals]\nkind = \"tally\"\namount_path = \"data.amount\"\n", "t.toml", options);
  INFO(errors_of(result));
  REQUIRE(result.ok());
  const Handler& handler = result.config.handlers.at("totals");
  CHECK(handler.option<std::string>("amount_path") == "data.amount");
  CHECK(handler.option<std::int64_t>("limit") == 10);
  CHECK(handler.table == "tallies");
  CHECK_FALSE(handler.is_side_effect);
  CHECK_THROWS_AS(handler.option<std::string>("colour"), std::logic_error);
}

TEST_CASE("a registered kind's keys get file:line:key errors: required, bounds, other kinds, its own load") {
  const OptionTable options(kinds_with(tally()));
  const auto only_error = [&](const std::string& text) {
    const LoadResult result = load_config_text(kHead + text, "t.toml", options);
    INFO(errors_of(result));
    REQUIRE(result.errors.size() == 1);
    return result.errors.front();
  };
  CHECK(only_error("[handlers.totals]\nkind = \"tally\"\n") == "t.toml:6: handlers.totals.amount_path: required");
  CHECK(only_error("[handlers.totals]\nkind = \"tally\"\namount_path = \"data.a\"\nlimit = 0\n") ==
        "t.toml:9: handlers.totals.limit: must be between 1 and 100, got 0");
  CHECK(only_error("[handlers.totals]\nkind = \"tally\"\namount_path = \"metadata.a\"\n") ==
        "t.toml:8: handlers.totals.amount_path: must be in data");
  CHECK(only_error("[handlers.log]\nkind = \"event_log\"\nlimit = 5\n") ==
        "t.toml:8: handlers.log.limit: only for kind tally");
}

TEST_CASE("the option table lists a registered kind among the kinds, in --help and in the keys it shares") {
  const OptionTable options(kinds_with(tally()));
  CHECK(options.find("handlers.*", "kind")->choices == "sql|event_log|users|webhook|celery|redis_publish|tally");
  CHECK(options.find("handlers.*", "rebuild_on_signal")->kinds == "sql,event_log,users,tally");
  CHECK(options.find("handlers.*", "table")->kinds == "event_log,users,tally");
  CHECK_THAT(options.help(), Catch::Contains("  amount_path ") && Catch::Contains("(only: tally)"));
}

TEST_CASE("a kind that redefines a key of every handler, or one another kind declares otherwise, is refused") {
  HandlerKind redefines = tally();
  redefines.options.push_back({.section = "handlers.*", .key = "source", .type = OptionType::integer,
                               .reloadable = true, .help = "?"});
  CHECK_THROWS_AS(OptionTable(kinds_with(redefines)), std::logic_error);
  HandlerKind clashes = tally();
  clashes.options.push_back({.section = "handlers.*", .key = "url", .type = OptionType::integer,
                             .reloadable = true, .help = "?"});
  CHECK_THROWS_AS(OptionTable(kinds_with(clashes)), std::logic_error);
  HandlerKind twice = tally();
  twice.name = "sql";
  CHECK_THROWS_AS(OptionTable(kinds_with(twice)), std::logic_error);
}
