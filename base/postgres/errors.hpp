#pragma once
/// PostgreSQL errors as the daemon judges and reports them. Transient: nothing about the statement's data (the
/// connection or the server going away, resources, contention the server resolves: serialization failures,
/// deadlocks, lock timeouts); callers retry those with backoff. Setup problems: the role lacks a privilege or
/// an object `projectord migrate` creates is missing; no retry mends them until an operator acts, so callers
/// stop and say what to do (setup_hint). Any other error is the statement's (a handler's, an event's).
/// error_text makes an exception one log line that keeps the server's primary message and SQLSTATE but never
/// its DETAIL, which quotes row values (a duplicate key's e-mail address); sqlstate_class names a SQLSTATE's
/// kind for readers that must not see the text.
#include <exception>
#include <string>
#include <string_view>

namespace projectord::postgres {

bool is_transient(const std::exception& error);

/// SQLSTATE 42501 (insufficient_privilege), or a missing table or schema (42P01, 3F000).
bool is_setup_problem(const std::exception& error);

/// For a setup problem met by role `role`: the one-line server message, then what the owner runs to mend it,
/// e.g. `permission denied for table users: run as the owner: GRANT SELECT, INSERT, UPDATE, DELETE ON users
/// TO pd`. The object comes from the message text (libpqxx does not expose the error's fields); a message
/// of another shape gets the general advice of `projectord migrate` and `--print-grants`.
std::string setup_hint(const std::exception& error, const std::string& role);

/// `message` as one line: DETAIL lines dropped, the other line breaks as spaces, no trailing blanks.
std::string one_line(std::string message);

/// one_line(error.what()), followed by " (SQLSTATE XXXXX)" for an error the server reported.
std::string error_text(const std::exception& error);

/// The SQLSTATE that error_text wrote into `text`, or "".
std::string_view sqlstate_in(std::string_view text);

/// A SQLSTATE's kind: connection, timeout, conflict, resources, unique_violation, foreign_key_violation,
/// not_null_violation, check_violation, constraint_violation, data_exception, insufficient_privilege,
/// syntax_or_access, or database
/// for the rest.
std::string_view sqlstate_class(std::string_view sqlstate);

}  // namespace projectord::postgres
