#include "sources/postgres/partition_match.hpp"

namespace projectord::sources {

std::string partition_match(const std::string& stream_id, const config::Partition& partition) {
  return "(('x' || substr(md5(" + stream_id + "::text), 1, 15))::bit(60)::bigint % " +
         std::to_string(partition.count) + " = " + std::to_string(partition.index) + ")";
}

}  // namespace projectord::sources
