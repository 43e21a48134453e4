#pragma once
/// What a caught exception says, as the error text of an outcome: the way a completion handler turns the
/// exception its coroutine ended with into a value for the caller waiting on it, since an exception thrown
/// out of a handler would leave io_context::run() with other handlers still queued on the caller's stack.
#include <exception>
#include <string>

namespace projectord::handlers {

/// The exception's what(), or a fixed text for one that is no std::exception. `error` must not be null.
std::string failure_text(std::exception_ptr error);

}  // namespace projectord::handlers
