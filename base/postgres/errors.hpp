#pragma once
/// Which PostgreSQL errors say nothing about the statement's data: the connection or the server going away,
/// resources, contention the server resolves (serialization failures, deadlocks, lock timeouts). Callers
/// retry those with backoff; any other error is the statement's (a handler's, an event's).
#include <exception>

namespace projectord::postgres {

bool is_transient(const std::exception& error);

}  // namespace projectord::postgres
