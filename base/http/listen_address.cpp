#include "base/http/listen_address.hpp"

#include <charconv>

namespace projectord::http {

Result<HostPort> split_listen(const std::string& listen) {
  const auto malformed = [&listen] {
    return fail("malformed listen address '" + listen + "': expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464");
  };
  std::string host;
  std::string port;
  if (listen.starts_with('[')) {
    const auto close = listen.find("]:");
    if (close == std::string::npos) return malformed();
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) return malformed();
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string::npos) return malformed();  // an IPv6 address needs brackets
  }
  unsigned number = 0;
  const char* end = port.data() + port.size();
  const auto [stop, error] = std::from_chars(port.data(), end, number);
  if (host.empty() || port.empty() || error != std::errc() || stop != end || number > 65535) return malformed();
  return HostPort{std::move(host), static_cast<unsigned short>(number)};
}

std::string reachable_host(const HostPort& listen) {
  if (listen.host == "0.0.0.0") return "127.0.0.1";
  if (listen.host == "::") return "::1";
  return listen.host;
}

}  // namespace projectord::http
