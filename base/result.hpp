#pragma once
/// Errors as values at boundaries: `Result<T>` holds a T or a human-readable message that already says
/// what and where (event position, file:line:key, handler name).
#include <boost/system/result.hpp>
#include <string>

namespace projectord {

template <class T>
using Result = boost::system::result<T, std::string>;

/// `return fail("why");` from any function returning Result<T>. A bare string would be ambiguous wherever
/// T can itself be built from a string (boost::json::value, aggregates).
struct Failure {
  std::string message;
  template <class T>
  operator Result<T>() && {  // NOLINT(google-explicit-constructor): the point is implicit use in return
    return {boost::system::in_place_error, std::move(message)};
  }
};
inline Failure fail(std::string message) { return {std::move(message)}; }

}  // namespace projectord
