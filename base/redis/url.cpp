#include "base/redis/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <limits>
#include <optional>

namespace projectord::redis {

namespace urls = boost::urls;

namespace {

// A decimal number in [low, high], or nullopt; no sign, no spaces, no trailing text.
std::optional<int> number_in(std::string_view text, int low, int high) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < low || value > high) {
    return std::nullopt;
  }
  return value;
}

// Redis numbers its databases from 0; the server rejects the ones past its `databases` setting. No message
// quotes a part of the URL: with a '/' or '#' in an unencoded password, that part is the password's tail.
Result<int> parse_db(std::string_view text, std::string_view where) {
  const auto db = number_in(text, 0, std::numeric_limits<int>::max());
  if (!db) return fail("redis URL: the database " + std::string(where) + " must be a number >= 0");
  return *db;
}

Result<RedisUrl> parse_tcp(const urls::url_view& url) {
  RedisUrl out;
  if (url.host_type() == urls::host_type::ipvfuture) return fail("redis URL: unsupported host address");
  out.host = url.host_address();
  if (out.host.empty()) return fail("redis URL: the host is missing");
  if (url.has_port()) {
    const auto port = number_in(url.port(), 1, std::numeric_limits<unsigned short>::max());
    if (!port) return fail("redis URL: the port must be a number from 1 to 65535");
    out.port = static_cast<unsigned short>(*port);
  }
  if (url.has_userinfo()) {
    out.user = url.user();
    if (!url.has_password()) {
      // redis://secret@host would otherwise send the password as a user name, in clear, in error replies.
      return fail("redis URL: credentials must be written user:password@ or :password@ (the ':' is missing)");
    }
    out.password = url.password();
  }
  std::string_view path = url.encoded_path();
  if (!path.empty() && path.front() != '/') {
    // Boost.URL 1.81 takes "host:12ab" as port 12 and path "ab".
    return fail("redis URL: text after the host: the port must be a number, the database /N");
  }
  if (path.size() > 1) {
    const auto db = parse_db(path.substr(1), "(the URL's path)");
    if (!db) return fail(db.error());
    out.db = *db;
  }
  if (url.has_query()) return fail("redis URL: a redis:// URL takes no query; the database is its path (/N)");
  return out;
}

Result<RedisUrl> parse_unix(const urls::url_view& url) {
  RedisUrl out;
  if (url.has_authority() && !url.encoded_host().empty()) {
    return fail("redis URL: a unix:// URL has no host: write unix:///path/to/socket");
  }
  if (url.has_userinfo()) return fail("redis URL: a unix:// URL takes no credentials");
  out.unix_path = url.path();
  if (out.unix_path.empty() || out.unix_path.front() != '/') {
    return fail("redis URL: the socket path of a unix:// URL must be absolute");
  }
  for (const auto& param : url.params()) {
    if (param.key != "db") return fail("redis URL: unknown parameter '" + param.key + "' (only db=N)");
    const auto db = parse_db(param.value, "(db=)");
    if (!db) return fail(db.error());
    out.db = *db;
  }
  return out;
}

}  // namespace

std::string RedisUrl::endpoint() const {
  if (!unix_path.empty()) return unix_path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<RedisUrl> parse_redis_url(std::string_view text) {
  // Boost.URL's own messages never quote the input, which may hold a password.
  const auto url = urls::parse_uri(text);
  if (!url) return fail("redis URL: not a valid URL (" + url.error().message() + ")");
  if (url->has_fragment()) return fail("redis URL: a fragment (#...) is not allowed");
  const std::string scheme = url->scheme();
  if (scheme == "redis") return parse_tcp(*url);
  if (scheme == "unix") return parse_unix(*url);
  if (scheme == "rediss") return fail("redis URL: rediss:// (TLS) is not supported yet; use redis:// or unix://");
  return fail("redis URL: unknown scheme '" + scheme + "' (expected redis:// or unix://)");
}

}  // namespace projectord::redis
