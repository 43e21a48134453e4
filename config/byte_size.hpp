#pragma once
/// Byte sizes in config files: an integer with a binary unit, "512B", "64KiB", "16MiB", "1GiB".
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace projectord::config {

Result<std::int64_t> parse_byte_size(std::string_view text);
std::string format_byte_size(std::int64_t bytes);  ///< the shortest exact spelling: "16MiB", "1500B"

}  // namespace projectord::config
