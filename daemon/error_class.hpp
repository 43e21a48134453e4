#pragma once
/// What kind of error a lane's last_error (or a dead letter's error) is, for readers that may not see its
/// text: unauthenticated /status and /readyz, `projectord status` without --show-errors. The text can quote
/// event data and the servers' words; the class never does. Computed from the stored text, so every place
/// that records an error is covered: the SQLSTATE that postgres::error_text appends decides first
/// (postgres::sqlstate_class), then the shapes of the daemon's own messages. The classes:
///   connection   a server (PostgreSQL, Redis) could not be reached, refused the credentials or went away
///   timeout      a statement, lock, connection or delivery ran out of time
///   decode       a stored event could not be decoded (codec, bytea, JSON, stream entry fields)
///   http_3xx, http_4xx, http_5xx   a webhook receiver answered so
///   standby      another process runs the handler
///   lease_lost   another process took the handler over from this one (checkpoints/leases.hpp)
///   unique_violation, foreign_key_violation, not_null_violation, check_violation, constraint_violation,
///   data_exception, insufficient_privilege, syntax_or_access, conflict, resources, database   the server's SQLSTATE
///   handler      anything else a handler or source reported
/// An empty text (no error) has the empty class.
#include <string_view>

namespace projectord {

std::string_view error_class(std::string_view error);

}  // namespace projectord
