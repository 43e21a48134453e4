#pragma once
/// A session's part of a read model's setup (ProjectionHandler::setup_sql): only the statements whose
/// relation is missing run. The relation is looked for where the statement would create it: an unqualified
/// name in the session's current schema (the first of its search_path), so a rebuild, whose search_path
/// starts with its shadow schema, still creates its tables there while the live ones exist; a qualified
/// name where it says. On a model `projectord migrate` set up, a lane thus runs no DDL, and its role needs
/// no CREATE in the table's schema.
#include <cstddef>
#include <pqxx/transaction_base>
#include <vector>

#include "handlers/projection_handler.hpp"

namespace projectord::handlers {

/// Runs in `txn` each statement whose relation is missing (or not known); returns how many ran.
std::size_t create_missing(pqxx::transaction_base& txn, const std::vector<SetupStatement>& statements);

}  // namespace projectord::handlers
