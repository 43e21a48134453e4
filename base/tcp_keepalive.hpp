#pragma once
/// How projectord notices a server that vanished without closing its connections (its host gone, a firewall
/// that drops the packets of an established connection): TCP keepalives and TCP_USER_TIMEOUT on every
/// connection to PostgreSQL and Redis. Without them a read on such a connection waits for the kernel's
/// default keepalive (2 h idle) and a write for some 15 min of retransmissions, and the lane waiting on it
/// hangs until systemd's watchdog restarts the whole daemon; with them the call fails within about a minute
/// and the lane reconnects. PostgreSQL connections get the settings as libpq options
/// (base/postgres/conninfo.hpp), Redis connections on their socket (`enable_keepalive`).
#include <chrono>

#include "base/result.hpp"

namespace projectord::tcp_keepalive {

// Probes are answered by the server host's kernel, not by the server process: a server busy with long
// queries or short of CPU still answers them, so they fail only when the host or the path to it is gone.
// The first probe goes out after 15 s without traffic, then one every 5 s.
inline constexpr std::chrono::seconds kIdle{15};
inline constexpr std::chrono::seconds kInterval{5};
// Four unanswered probes (35 s after the last traffic) end the connection where TCP_USER_TIMEOUT is not
// supported; on Linux TCP_USER_TIMEOUT takes over that decision once probes are out.
inline constexpr int kCount = 4;
// The longest that sent data (a query, a probe) may stay unacknowledged before the connection is dropped:
// this also bounds writes, which keepalives do not cover. A minute is far beyond any retransmission delay
// of a working network, so only an outage of more than a minute trips it, after which a fresh connection is
// what a lane needs anyway.
inline constexpr std::chrono::milliseconds kUserTimeout{60'000};

/// Enables keepalives with the settings above, and TCP_USER_TIMEOUT, on the TCP socket `fd` (connected or
/// still connecting). The failure names the option that could not be set.
Result<void> enable_keepalive(int fd);

}  // namespace projectord::tcp_keepalive
