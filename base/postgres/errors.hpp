#pragma once
/// How the server's errors are judged. Transient: nothing about the statement's data (the connection or the
/// server going away, resources, contention the server resolves: serialization failures, deadlocks, lock
/// timeouts); callers retry those with backoff. Setup problems: the role lacks a privilege or an object
/// `projectord migrate` creates is missing; no retry mends them until an operator acts, so callers stop and
/// say what to do (setup_hint). Any other error is the statement's (a handler's, an event's). Server messages
/// span lines (ERROR, DETAIL, CONTEXT); one_line makes one a log line.
#include <exception>
#include <string>

namespace projectord::postgres {

bool is_transient(const std::exception& error);

/// SQLSTATE 42501 (insufficient_privilege), or a missing table or schema (42P01, 3F000).
bool is_setup_problem(const std::exception& error);

/// For a setup problem met by role `role`: the one-line server message, then what the owner runs to mend it,
/// e.g. `permission denied for table users: run as the owner: GRANT SELECT, INSERT, UPDATE, DELETE ON users
/// TO pd`. The object comes from the message text (libpqxx does not expose the error's fields); a message
/// of another shape gets the general advice of `projectord migrate` and `--print-grants`.
std::string setup_hint(const std::exception& error, const std::string& role);

/// `message` without its trailing line breaks and with the others as spaces.
std::string one_line(std::string message);

}  // namespace projectord::postgres
