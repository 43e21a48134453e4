#pragma once
/// `[http] listen` values: "HOST:PORT", with IPv6 addresses in brackets ("[::1]:9464").
#include <string>

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

}  // namespace projectord::http
