#pragma once
/// The libpq connection string every projectord connection to PostgreSQL opens with: the URL's own options
/// (a key=value string or a postgresql:// URI, as PQconninfoParse reads it) rewritten as key=value, plus
/// `keepalives=1`, `keepalives_idle`, `keepalives_interval`, `keepalives_count` and `tcp_user_timeout` from
/// base/tcp_keepalive.hpp for each of them the URL does not set (the URL's own value wins, so an operator
/// tunes them in the URL). libpq ignores them on Unix-socket connections. The result holds the password
/// when the URL does: it is a secret like the URL, never to be logged.
#include <string>

namespace projectord::postgres {

/// `url` with the keepalive defaults added; a string libpq cannot parse (refused when the configuration
/// loads) is returned as it is, for the connection attempt to reject.
std::string with_keepalives(const std::string& url);

}  // namespace projectord::postgres
