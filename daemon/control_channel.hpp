#pragma once
/// `NOTIFY projectord_control, 'ACTION HANDLER'` on the daemon's database: the admin calls for applications
/// that can reach the database but not the HTTP endpoint (a Django admin action runs
/// `SELECT pg_notify('projectord_control', 'rebuild users')`). ACTION is pause, resume, skip, rebuild, retry
/// or drop.
#include <string>
#include <string_view>

#include "daemon/http/handler_status.hpp"
#include "base/result.hpp"

namespace projectord {

inline constexpr std::string_view kControlChannel = "projectord_control";

/// The request a payload asks for (origin "notify"), or why it is not one.
Result<http::AdminRequest> parse_control(std::string_view payload);

/// Hands the request a payload asks for to `daemon` and logs its outcome when it is not accepted (a
/// payload that asks for nothing is logged and ignored): a NOTIFY has nobody to answer.
void act_on_control(std::string_view payload, http::DaemonView& daemon);

}  // namespace projectord
