#pragma once
/// What the fuzz targets share: their inputs as text, read a line at a time when a target needs several
/// values (a request's method, target and headers; an entry's id and fields), so that the checked-in seeds
/// stay readable and editable; and a check that fails the run like a crash, for properties a target asserts
/// beyond "does not crash".
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace projectord::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Hands out the input's lines in order; once it is exhausted, every further line is empty.
class Lines {
 public:
  explicit Lines(std::string_view text) : rest_(text) {}

  std::string_view next() {
    const std::size_t end = rest_.find('\n');
    const std::string_view line = rest_.substr(0, end);
    rest_ = end == std::string_view::npos ? std::string_view{} : rest_.substr(end + 1);
    return line;
  }
  /// Everything not handed out yet, newlines included.
  std::string_view rest() const { return rest_; }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

/// Aborts (which libFuzzer reports with the input) when a property the target checks does not hold.
inline void require(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %s\n", property);
  std::abort();
}

}  // namespace projectord::fuzz
