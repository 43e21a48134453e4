#include "sources/redis/stream_entry_id.hpp"

#include <charconv>
#include <limits>

namespace projectord::sources {
namespace {

constexpr int kSeqBits = 21;
constexpr std::uint64_t kMaxSeq = (std::uint64_t{1} << kSeqBits) - 1;
constexpr std::uint64_t kMaxMs = (std::uint64_t{1} << (63 - kSeqBits)) - 1;

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<StreamEntryId> StreamEntryId::parse(std::string_view text) {
  const auto dash = text.find('-');
  const auto ms = parse_number(text.substr(0, dash));
  if (!ms) return std::nullopt;
  if (dash == std::string_view::npos) return StreamEntryId{*ms, 0};
  const auto seq = parse_number(text.substr(dash + 1));
  if (!seq) return std::nullopt;
  return StreamEntryId{*ms, *seq};
}

std::string StreamEntryId::text() const { return std::to_string(ms) + "-" + std::to_string(seq); }

std::optional<Position> StreamEntryId::position() const {
  if (ms > kMaxMs || seq > kMaxSeq) return std::nullopt;
  return static_cast<Position>((ms << kSeqBits) | seq);
}

Position StreamEntryId::ceiling() const {
  return ms > kMaxMs ? std::numeric_limits<Position>::max() : static_cast<Position>((ms << kSeqBits) | kMaxSeq);
}

Position StreamEntryId::stand_in_after(Position last) const {
  const Position highest = ceiling();
  return last < highest ? last + 1 : last;
}

Position StreamEntryId::head_position() const { return position().value_or(ceiling()); }

StreamEntryId StreamEntryId::from_position(Position position) {
  const auto bits = static_cast<std::uint64_t>(position);
  return {bits >> kSeqBits, bits & kMaxSeq};
}

}  // namespace projectord::sources
