#include "examples/user_events.hpp"

#include <zlib.h>

#include <array>
#include <stdexcept>
#include <utility>

namespace projectord::examples {
namespace {

constexpr std::string_view kTopicPrefix = "users.events:";
// 2026-01-01T00:00:00+00:00
constexpr std::int64_t kStartMicros = 1'767'225'600LL * 1'000'000;

struct Name {
  std::string_view display;  // as typed by the user, UTF-8
  std::string_view slug;     // ASCII, for usernames and email addresses
};

// A few non-ASCII and apostrophe names on purpose: the transcoder writes UTF-8 unescaped (ensure_ascii=False).
constexpr std::array<Name, 24> kFirstNames{{
    {"Alice", "alice"}, {"Bob", "bob"},         {"Carmen", "carmen"},   {"Dmitri", "dmitri"}, {"Emma", "emma"},
    {"Farid", "farid"}, {"Grace", "grace"},     {"Hiroshi", "hiroshi"}, {"Ingrid", "ingrid"}, {"José", "jose"},
    {"Kwame", "kwame"}, {"Léa", "lea"},         {"Mei", "mei"},         {"Noah", "noah"},     {"Olga", "olga"},
    {"Priya", "priya"}, {"Quentin", "quentin"}, {"Rosa", "rosa"},       {"Søren", "soren"},   {"Tariq", "tariq"},
    {"Uma", "uma"},     {"Zoë", "zoe"},         {"Łukasz", "lukasz"},   {"Aarav", "aarav"},
}};
constexpr std::array<Name, 20> kLastNames{{
    {"Anderson", "anderson"}, {"Brown", "brown"},     {"Chen", "chen"},         {"Dubois", "dubois"},
    {"Evans", "evans"},       {"Fischer", "fischer"}, {"García", "garcia"},     {"Hansen", "hansen"},
    {"Ivanova", "ivanova"},   {"Johnson", "johnson"}, {"Kowalski", "kowalski"}, {"Müller", "muller"},
    {"Nakamura", "nakamura"}, {"O'Brien", "obrien"},  {"Patel", "patel"},       {"Rossi", "rossi"},
    {"Santos", "santos"},     {"Tanaka", "tanaka"},   {"Okafor", "okafor"},     {"Wójcik", "wojcik"},
}};
constexpr std::array<std::string_view, 5> kDomains{"example.com", "example.org", "example.net", "mail.test",
                                                   "inbox.example"};
constexpr std::array<std::string_view, 7> kReasons{"Requested by user",
                                                   "Spam account",
                                                   "Violation of terms of service",
                                                   "Duplicate account",
                                                   "Requested via \"close account\" form",
                                                   "Inactive for 24 months",
                                                   "Chargeback / fraud suspected"};
constexpr std::string_view kSelfReason = "Requested by user";  // deactivated_by is the user themself

constexpr char kHex[] = "0123456789abcdef";

// Python json.dumps(..., ensure_ascii=False): escapes only '"', '\\' and control characters.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_key(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

void append_nullable(std::string& out, std::string_view key, std::string_view value, bool present) {
  append_key(out, key);
  if (present) {
    append_json_string(out, value);
  } else {
    out += "null";
  }
}

void append_digits(std::string& out, std::int64_t value, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

// Python datetime.isoformat() of an aware UTC datetime with microseconds: 2026-01-01T00:00:03.000000+00:00
void append_iso_timestamp(std::string& out, std::int64_t micros) {
  const std::int64_t seconds = micros / 1'000'000;
  const std::int64_t fraction = micros % 1'000'000;
  const std::int64_t days = seconds / 86'400;
  const std::int64_t second_of_day = seconds % 86'400;
  // civil_from_days (H. Hinnant), valid for the positive epoch range used here.
  const std::int64_t z = days + 719'468;
  const std::int64_t era = z / 146'097;
  const std::int64_t doe = z - era * 146'097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  append_digits(out, year, 4);
  out += '-';
  append_digits(out, month, 2);
  out += '-';
  append_digits(out, day, 2);
  out += 'T';
  append_digits(out, second_of_day / 3600, 2);
  out += ':';
  append_digits(out, second_of_day / 60 % 60, 2);
  out += ':';
  append_digits(out, second_of_day % 60, 2);
  out += '.';
  append_digits(out, fraction, 6);
  out += "+00:00";
}

}  // namespace

UserEventGenerator::UserEventGenerator(std::uint64_t seed) : rng_state_(seed), timestamp_us_(kStartMicros) {
  users_.reserve(1024);
  active_.reserve(1024);
  for (int i = 0; i < 4; ++i) admins_.push_back(random_uuid(false));
}

std::uint64_t UserEventGenerator::random() {
  // splitmix64: tiny, fast, and the same on every platform (unlike std:: distributions).
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t UserEventGenerator::below(std::uint64_t bound) {
  return random() % bound;  // the modulo bias is far below anything a demo or benchmark could notice
}

bool UserEventGenerator::chance(unsigned percent) { return below(100) < percent; }

std::string UserEventGenerator::random_uuid(bool dashed) {
  const std::uint64_t hi = (random() & ~0xf000ULL) | 0x4000ULL;                         // version 4
  const std::uint64_t lo = (random() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (dashed && (i == 8 || i == 12 || i == 16 || i == 20)) out += '-';
    const std::uint64_t word = i < 16 ? hi : lo;
    out += kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
  }
  return out;
}

StoredEvent UserEventGenerator::next() {
  ++generated_;
  const std::uint64_t roll = below(100);  // 25% registrations, 25% email, 40% profile, 10% deactivations
  if (roll < 25 || active_.empty()) return registered();
  User& user = users_[active_[below(active_.size())]];
  if (roll < 50) return email_changed(user);
  if (roll < 90) return profile_updated(user);
  return deactivated(user);
}

void UserEventGenerator::open_state(std::string& out) {
  out += "{\"timestamp\":{\"_type_\":\"datetime_iso\",\"_data_\":\"";
  append_iso_timestamp(out, timestamp_us_);
  out += "\"}";
  timestamp_us_ += 1'000'000 + static_cast<std::int64_t>(below(4'000'000));  // 1 to 5 s later
}

StoredEvent UserEventGenerator::make_event(const User& user, std::string_view type, std::string state) {
  StoredEvent event;
  event.originator_id = user.id;
  event.originator_version = user.version;
  event.topic.reserve(kTopicPrefix.size() + type.size());
  event.topic += kTopicPrefix;
  event.topic += type;
  event.state = std::move(state);
  return event;
}

StoredEvent UserEventGenerator::registered() {
  const Name& first = kFirstNames[below(kFirstNames.size())];
  const Name& last = kLastNames[below(kLastNames.size())];
  const bool has_first = !chance(15);
  const bool has_last = !chance(15);

  User user;
  user.id = random_uuid(true);
  user.username.reserve(first.slug.size() + last.slug.size() + 8);
  user.username += first.slug;
  user.username += '.';
  user.username += last.slug;
  user.username += std::to_string(users_.size() + 1);  // unique by construction
  user.email.reserve(user.username.size() + 16);
  user.email += user.username;
  user.email += '@';
  user.email += kDomains[below(kDomains.size())];
  user.version = 1;
  user.active_slot = active_.size();

  std::string state;
  state.reserve(256);
  open_state(state);
  // Registration is the aggregate's creation event, so pyeventsourcing also records the aggregate's topic.
  state += ",\"originator_topic\":\"users.domain:User\"";
  append_nullable(state, "username", user.username, true);
  append_nullable(state, "email", user.email, true);
  append_nullable(state, "first_name", first.display, has_first);
  append_nullable(state, "last_name", last.display, has_last);
  state += '}';

  active_.push_back(users_.size());
  users_.push_back(std::move(user));
  return make_event(users_.back(), "UserRegistered", std::move(state));
}

StoredEvent UserEventGenerator::email_changed(User& user) {
  ++user.version;
  // The version in the local part makes the new address differ from every earlier one of this user.
  std::string new_email;
  new_email.reserve(user.username.size() + 24);
  new_email += user.username;
  new_email += '.';
  new_email += std::to_string(user.version);
  new_email += '@';
  new_email += kDomains[below(kDomains.size())];

  std::string state;
  state.reserve(192);
  open_state(state);
  append_nullable(state, "old_email", user.email, true);
  append_nullable(state, "new_email", new_email, true);
  state += '}';
  user.email = std::move(new_email);
  return make_event(user, "UserEmailChanged", std::move(state));
}

StoredEvent UserEventGenerator::profile_updated(User& user) {
  ++user.version;
  const Name& first = kFirstNames[below(kFirstNames.size())];
  const Name& last = kLastNames[below(kLastNames.size())];
  const bool has_first = chance(40);
  const bool has_last = chance(40);
  const bool has_phone = chance(70) || (!has_first && !has_last);  // an update changes at least one field

  // Fictional-range numbers, at most 20 characters (the read model's phone column).
  struct PhoneFormat {
    std::string_view prefix;
    std::size_t digits;
  };
  static constexpr std::array<PhoneFormat, 3> kPhones{{{"+1 202 555 01", 2}, {"+44 20 7946 0", 3}, {"+49 30 ", 6}}};
  const PhoneFormat& format = kPhones[below(kPhones.size())];
  std::string phone;
  phone.reserve(20);
  phone += format.prefix;
  for (std::size_t i = 0; i < format.digits; ++i) phone += static_cast<char>('0' + below(10));

  std::string state;
  state.reserve(192);
  open_state(state);
  append_nullable(state, "first_name", first.display, has_first);
  append_nullable(state, "last_name", last.display, has_last);
  append_nullable(state, "phone", phone, has_phone);
  state += '}';
  return make_event(user, "UserProfileUpdated", std::move(state));
}

StoredEvent UserEventGenerator::deactivated(User& user) {
  ++user.version;
  const std::string_view reason = kReasons[below(kReasons.size())];
  std::string state;
  state.reserve(224);
  open_state(state);
  append_nullable(state, "reason", reason, true);
  state += ",\"deactivated_by\":{\"_type_\":\"uuid_hex\",\"_data_\":\"";
  if (reason == kSelfReason) {
    for (char c : user.id) {
      if (c != '-') state += c;
    }
  } else {
    state += admins_[below(admins_.size())];
  }
  state += "\"}}";

  // Swap-remove from the active list so picking a random active user stays O(1).
  const std::size_t slot = user.active_slot;
  const std::size_t moved = active_.back();
  active_[slot] = moved;
  users_[moved].active_slot = slot;
  active_.pop_back();
  return make_event(user, "UserDeactivated", std::move(state));
}

std::string zlib_compress(std::string_view data) {
  // deflateInit allocates ~256 KiB: keep one stream per thread and reset it, which yields the same bytes.
  struct Deflater {
    z_stream stream{};
    Deflater() {
      if (deflateInit(&stream, Z_DEFAULT_COMPRESSION) != Z_OK) throw std::runtime_error("zlib deflateInit failed");
    }
    ~Deflater() { deflateEnd(&stream); }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;
  };
  thread_local Deflater deflater;
  z_stream& stream = deflater.stream;
  deflateReset(&stream);
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib deflate failed with code " + std::to_string(rc));
  out.resize(stream.total_out);
  return out;
}

}  // namespace projectord::examples
