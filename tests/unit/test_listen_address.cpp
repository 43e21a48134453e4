// `[http] listen` addresses, and which Host headers a server listening on one may serve.
#include <catch2/catch.hpp>

#include "base/http/listen_address.hpp"

using projectord::http::host_allowed;
using projectord::http::HostPort;
using projectord::http::is_loopback_host;
using projectord::http::split_listen;

TEST_CASE("a listen address splits into host and port, IPv6 in brackets") {
  CHECK(split_listen("127.0.0.1:9464")->host == "127.0.0.1");
  CHECK(split_listen("[::1]:9464")->host == "::1");
  CHECK(split_listen("localhost:0")->port == 0);
  CHECK_FALSE(split_listen("::1:9464").has_value());
  CHECK_FALSE(split_listen("127.0.0.1").has_value());
  CHECK_FALSE(split_listen("127.0.0.1:70000").has_value());
}

TEST_CASE("loopback hosts are localhost, 127.0.0.0/8 and ::1, nothing else") {
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("::1"));
  CHECK_FALSE(is_loopback_host("127.0.0.1.evil.example"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
  CHECK_FALSE(is_loopback_host("10.0.0.5"));
  CHECK_FALSE(is_loopback_host("localhost.evil.example"));
}

TEST_CASE("a Host header must name the listen address or a loopback name: a rebound DNS name is refused") {
  const HostPort loopback{"127.0.0.1", 9464};
  CHECK(host_allowed("127.0.0.1:9464", loopback));
  CHECK(host_allowed("localhost:9464", loopback));
  CHECK(host_allowed("[::1]:9464", loopback));
  CHECK(host_allowed("localhost", loopback));
  CHECK_FALSE(host_allowed("evil.example:9464", loopback));
  CHECK_FALSE(host_allowed("", loopback));
  CHECK_FALSE(host_allowed("[::1", loopback));

  const HostPort named{"10.0.0.5", 9464};
  CHECK(host_allowed("10.0.0.5:9464", named));
  CHECK_FALSE(host_allowed("10.0.0.6:9464", named));

  CHECK(host_allowed("metrics.internal:9464", HostPort{"0.0.0.0", 9464}));
}
