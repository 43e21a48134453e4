// Events too big or too deep to decode, against the real binary: a 200 MB row, a zlib bomb and a JSON array
// nested a million deep each end as a dead letter with a clear error (or halt a handler whose on_error says
// so), the other handlers go on, and the daemon's memory stays small all along.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <pqxx/pqxx>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/process_stats.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::peak_rss_kib;
using projectord::testing::TestDatabase;

namespace {

// zlib of `head`, `repeat` copies of `fill`, then `tail`, compressed as it streams: the test never holds the
// inflated text.
std::string zlib_stream(const std::string& head, char fill, std::size_t repeat, const std::string& tail) {
  z_stream zs{};
  REQUIRE(deflateInit(&zs, Z_BEST_COMPRESSION) == Z_OK);
  std::string out;
  std::string chunk(std::size_t{1} << 16, '\0');
  const auto feed = [&](const std::string& in, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    do {
      zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
      zs.avail_out = static_cast<uInt>(chunk.size());
      REQUIRE(deflate(&zs, flush) != Z_STREAM_ERROR);
      out.append(chunk.data(), chunk.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  };
  feed(head, Z_NO_FLUSH);
  const std::string block(std::size_t{1} << 20, fill);
  for (std::size_t left = repeat; left > 0;) {
    const std::size_t n = std::min(left, block.size());
    feed(block.substr(0, n), Z_NO_FLUSH);
    left -= n;
  }
  feed(tail, Z_FINISH);
  deflateEnd(&zs);
  return out;
}

void insert_row(const TestDatabase& db, const std::string& topic, const std::string& state_sql,
                const std::string& bytes = "") {
  auto connection = db.connect();
  pqxx::work txn(*connection);
  const std::string sql =
      "INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state) VALUES "
      "('Shop', gen_random_uuid(), 1, '" + topic + "', " + state_sql + ")";
  if (bytes.empty()) {
    txn.exec(sql);
  } else {
    txn.exec_params(sql, pqxx::binarystring(bytes));
  }
  txn.commit();
}

}  // namespace

TEST_CASE("a 200 MB row, a zlib bomb and a million-deep JSON array are poison events, and the daemon stays small") {
  TestDatabase db;
  write_events(db, 3);
  const std::string config = migrated(db, "big-rows.toml", with_admin_token(demo_config()));
  insert_row(db, "shop:Huge", "convert_to(repeat('x', 200 * 1024 * 1024), 'UTF8')");
  const auto huge = head(db);
  insert_row(db, "shop:Bomb", "$1", zlib_stream("{\"a\":\"", 'x', std::size_t{256} << 20, "\"}"));
  insert_row(db, "shop:Deep", "$1", zlib_stream("{\"a\":", '[', std::size_t{1} << 20, ""));
  // An event after them, written directly: the demo writer refuses a store holding rows it did not write.
  insert_row(db, "shop:Noted", "$1",
             zlib_stream(R"({"timestamp":{"_type_":"datetime_iso","_data_":"2024-02-07T15:32:51+00:00"}})", ' ', 0,
                         ""));

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon, kAdminToken);  // the token: /status shows the errors' text
  REQUIRE(eventually([&] { return http.position("user_log") == head(db); }, 60s));
  REQUIRE(eventually([&] { return http.state("users") == "halted"; }));

  const auto error_of = [&](const std::string& handler, std::int64_t position) {
    return db.query_value("SELECT error FROM projectord.dead_letters WHERE handler = '" + handler +
                          "' AND position = " + std::to_string(position));
  };
  CHECK(error_of("user_log", huge) == "source shop position " + std::to_string(huge) +
                                          ": payload of 209715200 bytes is over max_event_bytes (16MiB), not read");
  CHECK(error_of("user_log", huge + 1) ==
        "source shop position " + std::to_string(huge + 1) + ": zlib: payload inflates beyond max_event_bytes (16MiB)");
  CHECK(error_of("user_log", huge + 2) ==
        "source shop position " + std::to_string(huge + 2) + ": JSON nested deeper than 1000 levels at offset 1004");
  CHECK(logged_events(db) == 4);
  // users halts on the first, as its on_error says, with the same error.
  const auto users = http.handler("users");
  CHECK(users.at("halted_at").as_int64() == huge);
  CHECK(std::string(users.at("last_error").as_string()).find("209715200 bytes") != std::string::npos);

  const std::int64_t peak = peak_rss_kib(daemon.pid());
  INFO("VmHWM " << peak << " kB");
  CHECK(peak > 0);
#ifdef PROJECTORD_TEST_SANITIZED
  // ASan's shadow memory and its quarantine of freed blocks take this daemon from ~65 MiB to ~170 MiB; the
  // bound still fails one that holds the 200 MB row or inflates the bomb's 256 MiB.
  CHECK(peak < 256 * 1024);
#else
  CHECK(peak < 100 * 1024);
#endif
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
