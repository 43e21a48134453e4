#include "sources/schema_version.hpp"

#include <boost/json/serialize.hpp>
#include <string>

#include "base/printable.hpp"
#include "sources/json_path.hpp"

namespace projectord::sources {

Result<std::int64_t> checked_schema_version(std::int64_t stored) {
  if (stored < 1) return fail("schema version " + std::to_string(stored) + " is below 1");
  return stored;
}

Result<std::int64_t> schema_version_at(const Event& event, std::string_view path) {
  const auto dot = path.find('.');
  const boost::json::value& root = path.substr(0, dot) == "metadata" ? event.metadata : event.data;
  if (dot == std::string_view::npos || !root.is_object()) return 1;
  auto found = find_path(root.as_object(), path.substr(dot + 1));
  if (!found) return fail(std::string(path) + ": " + found.error());
  const boost::json::value* version = *found;
  if (version == nullptr || version->is_null()) return 1;
  if (version->is_int64()) return checked_schema_version(version->get_int64());
  if (version->is_uint64()) return fail(std::string(path) + ": schema version " + std::to_string(version->get_uint64()) + " is too large");
  return fail(std::string(path) + ": schema version " + printable(boost::json::serialize(*version), 64) +
              " is not an integer");
}

}  // namespace projectord::sources
