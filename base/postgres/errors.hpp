#pragma once
/// PostgreSQL errors as the daemon judges and reports them. is_transient says which errors say nothing about
/// the statement's data: the connection or the server going away, resources, contention the server resolves
/// (serialization failures, deadlocks, lock timeouts); callers retry those with backoff, any other error is
/// the statement's (a handler's, an event's). error_text makes an exception one log line that keeps the
/// server's primary message and SQLSTATE but never its DETAIL, which quotes row values (a duplicate key's
/// e-mail address); sqlstate_class names a SQLSTATE's kind for readers that must not see the text.
#include <exception>
#include <string>
#include <string_view>

namespace projectord::postgres {

bool is_transient(const std::exception& error);

/// `message` as one line: DETAIL lines dropped, the other line breaks as spaces, no trailing blanks.
std::string one_line(std::string message);

/// one_line(error.what()), followed by " (SQLSTATE XXXXX)" for an error the server reported.
std::string error_text(const std::exception& error);

/// The SQLSTATE that error_text wrote into `text`, or "".
std::string_view sqlstate_in(std::string_view text);

/// A SQLSTATE's kind: connection, timeout, conflict, resources, unique_violation, foreign_key_violation,
/// not_null_violation, check_violation, constraint_violation, data_exception, syntax_or_access, or database
/// for the rest.
std::string_view sqlstate_class(std::string_view sqlstate);

}  // namespace projectord::postgres
