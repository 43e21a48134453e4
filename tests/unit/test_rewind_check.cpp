// The pieces of the check that a source did not go backwards under a checkpoint: row fingerprints, and the
// verdict from the head and the row the checkpoint ended on.
#include <catch2/catch.hpp>

#include "daemon/lane/rewind_guard.hpp"
#include "sources/row_fingerprint.hpp"

using projectord::Event;
using projectord::RowAt;
using projectord::row_fingerprint;
using projectord::rewound_because;
using projectord::SourceRow;
using projectord::Undecodable;
using projectord::checkpoints::RowMark;

TEST_CASE("a row's fingerprint depends on its stream id, version and type only, and is the same in every build") {
  const auto fingerprint = row_fingerprint("user-1", 3, "UserRegistered");
  CHECK(fingerprint == row_fingerprint("user-1", 3, "UserRegistered"));
  CHECK(fingerprint != row_fingerprint("user-2", 3, "UserRegistered"));
  CHECK(fingerprint != row_fingerprint("user-1", 4, "UserRegistered"));
  CHECK(fingerprint != row_fingerprint("user-1", 3, "UserRenamed"));
  CHECK(row_fingerprint("ab", 1, "c") != row_fingerprint("a", 1, "bc"));  // fields do not run into each other
  // 64-bit FNV-1a of "user-1\0" "3\0" "UserRegistered": stored fingerprints stay valid across releases.
  CHECK(fingerprint == static_cast<std::int64_t>(0xe204b2140e19c4e4ULL));
  Event event;
  event.stream_id = "user-1";
  event.version = 3;
  event.type = "UserRegistered";
  event.data = boost::json::object{{"email", "a@example.com"}};
  CHECK(row_fingerprint(SourceRow{7, event}) == fingerprint);
  event.data = boost::json::object{{"email", "b@example.com"}};
  CHECK(row_fingerprint(SourceRow{7, event}) == fingerprint);  // payloads may be upcast
  CHECK(row_fingerprint(SourceRow{7, Undecodable{"user-1", "UserRegistered", "\\x00", "bad zlib", 3}}) == fingerprint);
}

TEST_CASE("a source is rewound when its head is below the checkpoint, or the row the checkpoint ended on is gone or other") {
  const RowMark mark{50, row_fingerprint("user-50", 1, "UserRegistered")};
  const RowAt same{RowAt::Found::row, mark.fingerprint};

  const auto below = rewound_because(50, 10, mark, std::nullopt);
  REQUIRE(below);
  CHECK_THAT(*below, Catch::Contains("head 10") && Catch::Contains("checkpoint 50"));

  CHECK_FALSE(rewound_because(50, 60, mark, same));
  CHECK_FALSE(rewound_because(50, 50, std::nullopt, std::nullopt));  // nothing noted yet: the head alone
  CHECK_FALSE(rewound_because(0, 0, std::nullopt, std::nullopt));

  const auto gone = rewound_because(50, 60, mark, RowAt{RowAt::Found::missing, 0});
  REQUIRE(gone);
  CHECK_THAT(*gone, Catch::Contains("position 50") && Catch::Contains("checkpoint 50") && Catch::Contains("gone"));

  const auto other =
      rewound_because(55, 55, mark, RowAt{RowAt::Found::row, row_fingerprint("user-x", 1, "UserRegistered")});
  REQUIRE(other);
  CHECK_THAT(*other, Catch::Contains("position 50") && Catch::Contains("checkpoint 55"));

  CHECK_FALSE(rewound_because(50, 60, mark, RowAt{RowAt::Found::retired, 0}));  // a trimmed stream is no rewind
}
