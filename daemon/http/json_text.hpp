#pragma once
/// JSON text as a person reads it: Boost.JSON writes every double in exponent form (0 as `0E0`, 1.5 as
/// `1.5E0`); this writes the shortest decimal that reads back as the same double, with a fraction part so
/// that it stays a real (`0.0`, `1.5`, `12.25`), and exponent form only where the decimal would be longer.
/// Everything else is as boost::json::serialize writes it. Not finite doubles (never produced by the
/// endpoints) are written as null, since JSON has no text for them.
#include <boost/json/value.hpp>
#include <string>

namespace projectord::http {

std::string to_json_text(const boost::json::value& value);

}  // namespace projectord::http
