#pragma once
/// Deterministic generator of the Django guide's user events, stored the way eventsourcing_django stores them.
///
/// Contract: the same seed yields the same sequence of events, byte for byte, on every machine (the random
/// source is a hand-written splitmix64, not a std:: distribution). The sequence obeys the domain rules of
/// the `User` aggregate: the first event of a user is UserRegistered (version 1), versions grow by one per
/// user, inactive users get no further events, a new email differs from the old one, usernames and emails
/// are unique. Timestamps start at 2026-01-01T00:00:00+00:00 and strictly increase by a few seconds.
/// `state` is the uncompressed pyeventsourcing JSONTranscoder encoding (compact UTF-8 JSON, timestamp first,
/// `datetime_iso` / `uuid_hex` markers); pass it through `zlib_compress` for COMPRESSOR_TOPIC=zlib stores.
/// Cheap enough for a million events: no regex, no JSON library, preallocated strings.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace projectord::examples {

/// One row of eventsourcing_django's `stored_events`, minus `id` and `application_name`.
struct StoredEvent {
  std::string originator_id;  ///< dashed UUID text
  std::int64_t originator_version = 0;
  std::string topic;  ///< "users.events:UserRegistered", "users.events:UserEmailChanged", ...
  std::string state;  ///< JSONTranscoder bytes, uncompressed
};

class UserEventGenerator {
 public:
  explicit UserEventGenerator(std::uint64_t seed);

  /// The next event of the sequence.
  StoredEvent next();

  /// How many events `next()` has returned so far.
  std::uint64_t generated() const { return generated_; }

 private:
  struct User {
    std::string id;
    std::string username;
    std::string email;
    std::int64_t version = 0;
    std::size_t active_slot = 0;  ///< index into active_ while active
  };

  std::uint64_t random();
  std::uint64_t below(std::uint64_t bound);
  bool chance(unsigned percent);
  std::string random_uuid(bool dashed);

  StoredEvent registered();
  StoredEvent email_changed(User& user);
  StoredEvent profile_updated(User& user);
  StoredEvent deactivated(User& user);

  /// Writes `{"timestamp":{...}` (object still open) for the next event into `out`.
  void open_state(std::string& out);
  StoredEvent make_event(const User& user, std::string_view type, std::string state);

  std::uint64_t rng_state_;
  std::uint64_t generated_ = 0;
  std::int64_t timestamp_us_;  ///< microseconds since the Unix epoch of the next event
  std::vector<User> users_;
  std::vector<std::size_t> active_;  ///< indices into users_ of active users
  std::vector<std::string> admins_;  ///< uuid_hex ids of the staff who deactivate accounts
};

/// zlib.compress(data) at the default level, as pyeventsourcing's ZlibCompressor: output starts 78 9C.
std::string zlib_compress(std::string_view data);

}  // namespace projectord::examples
