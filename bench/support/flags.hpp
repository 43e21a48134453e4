#pragma once
/// Command-line flags of the benchmark programs: `--name VALUE` pairs, nothing else.
///
/// Contract: the constructor reads every pair; each accessor takes its flag out; `finish()` then rejects
/// whatever no accessor asked for. Every problem (unknown flag, missing value, bad number, missing required
/// flag) throws UsageError with a message that names the flag.
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace projectord::bench {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Flags {
 public:
  Flags(int argc, char** argv);

  /// True when --help or -h was given.
  bool help() const { return help_; }

  /// True when `name` was given (an accessor still has to take it).
  bool has(std::string_view name) const { return values_.contains(name); }

  std::string required_text(std::string_view name);
  /// One of `choices`; the first of them when the flag is absent.
  std::string choice(std::string_view name, const std::vector<std::string>& choices);
  /// A positive integer; `fallback` when the flag is absent.
  std::int64_t positive(std::string_view name, std::int64_t fallback);

  void finish() const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
  bool help_ = false;
};

/// A benchmark's main(): prints `usage` for --help, otherwise runs `body` with the flags and returns its exit
/// code; prints `usage` and returns 2 on a UsageError, prints the message and returns 1 on any other exception.
int run_main(int argc, char** argv, std::string_view program, std::string_view usage,
             const std::function<int(Flags&)>& body);

}  // namespace projectord::bench
