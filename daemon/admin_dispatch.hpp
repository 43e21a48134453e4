#pragma once
/// Carries out an operator's request (pause, resume, skip, rebuild, retry, drop, reset_checkpoint) on one
/// handler's lanes and says what became of it. Skip and resume reach the handler's rebuild lane when that one
/// is halted (on an event the live lane never saw fail) and the live lane is not; everything else acts on the
/// live lane. A rebuild is allowed in every state of the live lane, source_rewound included.
/// Never blocks: the lanes act on the request from their own threads.
#include <functional>

#include "daemon/http/handler_status.hpp"
#include "daemon/lane_run.hpp"

namespace projectord {

/// `rebuild`: the lane of the handler's rebuild while one runs, else null. `start_rebuild` is called for an
/// accepted rebuild request (it must only post to the io thread).
http::AdminOutcome dispatch_admin(const http::AdminRequest& request, LaneRun& live, Lane* rebuild,
                                  const std::function<void()>& start_rebuild);

}  // namespace projectord
