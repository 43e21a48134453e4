#pragma once
/// `projectord migrate --print-grants ROLE`: the least privileges a daemon role needs for a config, as SQL
/// for the owner to pipe into psql, each group under a `--` line that says what it serves. The daemon's
/// role reads each PostgreSQL source table, writes the `projectord` schema's tables and each read-model
/// table (and uses the sequences those own), makes temporary tables where a handler stages in one, and for
/// rebuilds creates schemas in the database (the shadow `projectord_r_NAME`) and in the read models' schema
/// (the swap moves tables with ALTER TABLE ... SET SCHEMA), and it owns the read-model tables a rebuild swaps
/// or it indexes for readers (only an owner may). Otherwise `projectord migrate`, run by the owner, does the
/// DDL.
#include <pqxx/connection>
#include <string>

#include "base/result.hpp"
#include "config/config.hpp"

namespace projectord::cli {

/// The grants for `role`, looked up in `target` (the read-model database, set up by migrate): the tables'
/// schemas and owned sequences. Fails when a read-model table does not exist yet.
Result<std::string> least_privilege_grants(const config::Config& config, const std::string& role,
                                           pqxx::connection& target);

}  // namespace projectord::cli
