#pragma once
/// The fingerprint of a source's row: a 64-bit FNV-1a hash of its stream id, version and type, the same in
/// every process and build. A checkpoint notes the fingerprint of the row it ended on
/// (checkpoints::RowMark); a row found at that position later with another fingerprint, or none, says the
/// store was replaced under the checkpoint (a restore with other contents). Payloads are left out: a
/// projection never rewrites them, an upcast may.
#include <cstdint>
#include <string_view>

#include "sources/source.hpp"

namespace projectord {

std::int64_t row_fingerprint(std::string_view stream_id, std::int64_t version, std::string_view type);

/// Of a decoded event, or of a poison row by what it carries of the same fields.
std::int64_t row_fingerprint(const SourceRow& row);

}  // namespace projectord
