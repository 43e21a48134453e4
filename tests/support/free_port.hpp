#pragma once
/// A TCP port on the loopback interface for a server that must be told its port before it starts (a daemon's
/// HTTP listener whose URL wrk needs, a PostgreSQL of a test's own).

namespace projectord::testing {

/// A port on 127.0.0.1 that was free a moment ago. Should another process take it first, the server fails
/// to start and its caller says so (or tries another).
unsigned short free_loopback_port();

}  // namespace projectord::testing
