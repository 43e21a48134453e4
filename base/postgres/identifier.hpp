#pragma once
/// PostgreSQL identifiers that projectord splices into SQL (tables, columns, schemas, channels): the check
/// that a name from a config file is one, and its quoting. Everything else in SQL is a bound parameter.
#include <cstddef>
#include <string>
#include <string_view>

namespace projectord::postgres {

/// NAMEDATALEN - 1: PostgreSQL truncates longer names, so two spellings of one object could disagree.
inline constexpr std::size_t kMaxIdentifierBytes = 63;

/// `[A-Za-z_][A-Za-z0-9_$]*`, at most 63 bytes; with `allow_schema`, also one `schema.` prefix of the same
/// form.
bool is_safe_identifier(std::string_view name, bool allow_schema);

/// Empty when `name` is a safe identifier, else why not, for a "KEY: ..." config error.
std::string identifier_problem(std::string_view name, bool allow_schema);

/// Quotes a validated identifier, or each part of "schema.table".
std::string quote_identifier(const std::string& name);

}  // namespace projectord::postgres
