#include "sources/row_fingerprint.hpp"

#include <string>

namespace projectord {

namespace {

constexpr std::uint64_t kOffsetBasis = 14695981039346656037ULL;
constexpr std::uint64_t kPrime = 1099511628211ULL;

void mix(std::uint64_t& hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kPrime;
  }
}

}  // namespace

std::int64_t row_fingerprint(std::string_view stream_id, std::int64_t version, std::string_view type) {
  std::uint64_t hash = kOffsetBasis;
  // NUL separators: ("ab", "c") and ("a", "bc") differ.
  mix(hash, stream_id);
  mix(hash, std::string_view("\0", 1));
  mix(hash, std::to_string(version));
  mix(hash, std::string_view("\0", 1));
  mix(hash, type);
  return static_cast<std::int64_t>(hash);
}

std::int64_t row_fingerprint(const SourceRow& row) {
  if (const auto* event = std::get_if<Event>(&row.content)) {
    return row_fingerprint(event->stream_id, event->version, event->type);
  }
  const auto& poison = std::get<Undecodable>(row.content);
  return row_fingerprint(poison.stream_id, poison.version, poison.type);
}

}  // namespace projectord
