#pragma once
/// An environment variable set for one test and unset when the test ends, a failed REQUIRE included.
#include <cstdlib>
#include <string>

namespace projectord::testing {

class ScopedEnv {
 public:
  ScopedEnv(std::string variable, const std::string& value) : name_(std::move(variable)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

}  // namespace projectord::testing
