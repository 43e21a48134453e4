#pragma once
/// Which rows of a PostgreSQL source belong to one partition of a partitioned handler: those whose stream id
/// hashes to the partition's index. The hash is md5's first 60 bits, modulo the count: a function of the id's
/// text alone, the same on every server version, so a stream stays in its partition across restarts,
/// upgrades and processes.
#include <string>

#include "config/config.hpp"

namespace projectord::sources {

/// An SQL condition on `stream_id` (a quoted column or expression of any type with a text form) true for the
/// rows of `partition`; its numbers are config integers, written as literals.
std::string partition_match(const std::string& stream_id, const config::Partition& partition);

}  // namespace projectord::sources
