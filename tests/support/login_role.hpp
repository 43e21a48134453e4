#pragma once
/// A LOGIN role with no privilege of its own, unique to the test process, for tests of what such a role can
/// and cannot do (PUBLIC's CONNECT lets it in, and so lets it NOTIFY). Roles belong to the server, not a
/// database: it is dropped again at the end. Declare it before a TestDatabase that grants it anything, so the
/// database (and with it what the role was granted there) goes first.
#include <atomic>
#include <string>

namespace projectord::testing {

class LoginRole {
 public:
  LoginRole();
  ~LoginRole();
  LoginRole(const LoginRole&) = delete;
  LoginRole& operator=(const LoginRole&) = delete;

  const std::string& name() const { return name_; }

  /// `url` (a key=value connection string) logging in as this role.
  std::string url_for(const std::string& url) const { return url + " user=" + name_; }

 private:
  static inline std::atomic<int> next_{0};
  std::string name_;
};

}  // namespace projectord::testing
