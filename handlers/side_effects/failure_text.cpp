#include "handlers/side_effects/failure_text.hpp"

namespace projectord::handlers {

std::string failure_text(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& caught) {
    return caught.what();
  } catch (...) {
    return "an exception that is no std::exception";
  }
}

}  // namespace projectord::handlers
