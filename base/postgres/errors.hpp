#pragma once
/// Which PostgreSQL errors say nothing about the statement's data: the connection or the server going away,
/// resources, contention the server resolves (serialization failures, deadlocks, lock timeouts). Callers
/// retry those with backoff; any other error is the statement's (a handler's, an event's). Server messages
/// span lines (ERROR, DETAIL, CONTEXT); one_line makes one a log line.
#include <exception>
#include <string>

namespace projectord::postgres {

bool is_transient(const std::exception& error);

/// `message` without its trailing line breaks and with the others as spaces.
std::string one_line(std::string message);

}  // namespace projectord::postgres
