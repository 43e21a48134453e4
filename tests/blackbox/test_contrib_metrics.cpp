// The Grafana dashboard and the Prometheus alert rules in contrib/ against a real scrape of /metrics: every
// metric their expressions use is one the daemon exports, so a renamed metric cannot leave them querying
// nothing.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::TestDatabase;

namespace {

std::string source_file(const std::string& relative) {
  std::ifstream file(std::string(PROJECTORD_SOURCE_DIR) + "/" + relative);
  REQUIRE(file);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Every word of the daemon's two metric prefixes: dashboards and rules name metrics in their expressions only.
std::set<std::string> metric_names_in(const std::string& text) {
  static const std::regex name(R"(\b(projectord|process)_[a-z_]+)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

// The families a scrape declares, by name, with their types ("# TYPE name type").
std::map<std::string, std::string> families_in(const std::string& scrape) {
  std::map<std::string, std::string> families;
  std::istringstream lines(scrape);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string hash, keyword, name, type;
    if (words >> hash >> keyword >> name >> type && hash == "#" && keyword == "TYPE") families[name] = type;
  }
  return families;
}

// The family a series name belongs to: a histogram's _bucket, _sum and _count series are its own.
std::string family_of(const std::string& series, const std::map<std::string, std::string>& families) {
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (!series.ends_with(suffix)) continue;
    const std::string family = series.substr(0, series.size() - suffix.size());
    const auto found = families.find(family);
    if (found != families.end() && found->second == "histogram") return family;
  }
  return series;
}

}  // namespace

TEST_CASE("every metric the Grafana dashboard and the alert rules query is in a real scrape of /metrics") {
  TestDatabase db;
  write_events(db, 10);
  const std::string config = migrated(db, "contrib_metrics.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.position("users") == 10 && http.position("user_log") == 10; }));
  const auto families = families_in(http.get("/metrics").body);
  REQUIRE(families.contains("projectord_handler_state"));

  for (const std::string file : {"contrib/grafana/projectord.json", "contrib/prometheus/alerts.yml"}) {
    const std::set<std::string> names = metric_names_in(source_file(file));
    INFO(file);
    CHECK(names.size() >= 5);
    for (const std::string& name : names) {
      INFO(name);
      CHECK(families.contains(family_of(name, families)));
    }
  }
}
