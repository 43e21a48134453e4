#pragma once
/// DDL of the read-model tables of the Django integration guide's `users` app (models UserProjection and
/// UserEventLog: `user_projection`, `user_event_log`), as `manage.py sqlmigrate` creates them on PostgreSQL,
/// so those Django models read what projectord writes without a change. Only the table name is configurable.
#include <string>
#include <vector>

#include "handlers/projection_handler.hpp"
#include "handlers/reader_index.hpp"

namespace projectord::handlers {

/// The table with its constraints (primary key, unique user_id and username, checks).
std::vector<SetupStatement> user_projection_ddl(const std::string& table);
/// The model's other indexes, for readers (ProjectionHandler::reader_indexes).
std::vector<ReaderIndex> user_projection_reader_indexes(const std::string& table);
std::vector<SetupStatement> user_event_log_ddl(const std::string& table);
std::vector<ReaderIndex> user_event_log_reader_indexes(const std::string& table);

}  // namespace projectord::handlers
