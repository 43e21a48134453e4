#pragma once
/// A TCP port for a daemon's HTTP listener when the benchmark must know it before the daemon starts (wrk
/// needs the URL).

namespace projectord::bench {

/// A port on 127.0.0.1 that was free a moment ago. Should another process take it first, the daemon fails
/// to start and the benchmark says so.
unsigned short free_loopback_port();

}  // namespace projectord::bench
