#pragma once
/// Redis server addresses as URLs: `redis://[[user]:password@]host[:port][/db]` over TCP and
/// `unix:///path/to/socket[?db=N]` over a Unix socket. `rediss://` (TLS) is refused: the client does not
/// speak TLS yet. Error messages name the part that is wrong without quoting it (only the scheme and a
/// unix:// parameter's name are quoted), so they never contain the password and can be logged as they are.
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace projectord::redis {

struct RedisUrl {
  std::string host;  ///< empty for a Unix socket; an IPv6 address without brackets
  unsigned short port = 6379;
  std::string unix_path;  ///< set for unix://, then host is empty
  std::string user;       ///< empty: AUTH with the password alone (the `default` user)
  std::string password;   ///< empty: no AUTH
  int db = 0;

  /// "host:port" or the socket path: what error messages call the server (never with credentials).
  std::string endpoint() const;
};

Result<RedisUrl> parse_redis_url(std::string_view text);

}  // namespace projectord::redis
