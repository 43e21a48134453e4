#pragma once
/// `[http] listen` values: "HOST:PORT", with IPv6 addresses in brackets ("[::1]:9464").
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace projectord::http {

struct HostPort {
  std::string host;  ///< without brackets
  unsigned short port;
};

Result<HostPort> split_listen(const std::string& listen);

/// Where a client on this machine reaches a server listening on `listen`: a wildcard address becomes the
/// loopback of its family.
std::string reachable_host(const HostPort& listen);

/// "localhost", 127.0.0.0/8 or ::1 (without brackets): only this machine's processes reach it.
bool is_loopback_host(std::string_view host);

/// Whether a request whose Host header is `host_header` may be served by a server listening on `listen`: the
/// header must name the listen address or a loopback name (with or without a port). A web page that a DNS
/// rebinding pointed at 127.0.0.1 sends its own name and is refused. A wildcard listen address (0.0.0.0, ::)
/// accepts any name: such a server needs its admin token anyway.
bool host_allowed(std::string_view host_header, const HostPort& listen);

}  // namespace projectord::http
