#include "base/postgres/statement_set.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

namespace projectord::postgres {

// 64-bit FNV-1a: stable across processes and runs (std::hash promises neither), and two texts a daemon prepares
// sharing a name is as likely as a 64-bit collision among a few hundred texts.
std::string prepared_name(std::string_view sql) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : sql) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("projectord_") + digits;
}

void StatementSet::add(std::string name, std::string sql) {
  std::string prepared_as = prepared_name(sql);
  statements_.push_back({std::move(name), std::move(sql), std::move(prepared_as), false});
}

void StatementSet::prepare(pqxx::connection& connection, Pooling pooling) {
  for (Statement& statement : statements_) {
    statement.prepared = pooling == Pooling::session;
    if (statement.prepared) connection.prepare(statement.prepared_name, statement.sql);
  }
}

const Statement& StatementSet::operator[](std::string_view name) const {
  const auto found = std::ranges::find(statements_, name, &Statement::name);
  if (found == statements_.end()) throw std::logic_error("no statement named " + std::string(name));
  return *found;
}

}  // namespace projectord::postgres
