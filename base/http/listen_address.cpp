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

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

bool host_allowed(std::string_view host_header, const HostPort& listen) {
  if (listen.host == "0.0.0.0" || listen.host == "::") return true;
  std::string_view host = host_header;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return is_loopback_host(host) || host == listen.host;
}

std::string reachable_host(const HostPort& listen) {
  if (listen.host == "0.0.0.0") return "127.0.0.1";
  if (listen.host == "::") return "::1";
  return listen.host;
}

}  // namespace projectord::http
