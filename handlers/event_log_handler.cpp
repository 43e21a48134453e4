#include "handlers/event_log_handler.hpp"

#include <boost/json/serialize.hpp>
#include <optional>
#include <pqxx/stream_to>
#include <tuple>

#include "base/postgres/identifier.hpp"
#include "handlers/django_tables.hpp"
#include "handlers/event_types.hpp"

namespace projectord::handlers {

Result<std::unique_ptr<ProjectionHandler>> EventLogHandler::make(const config::Handler& handler) {
  return std::unique_ptr<ProjectionHandler>(new EventLogHandler(handler.table));
}

std::vector<SetupStatement> EventLogHandler::setup_sql() const { return user_event_log_ddl(table_); }

std::vector<ReaderIndex> EventLogHandler::reader_indexes() const { return user_event_log_reader_indexes(table_); }

void EventLogHandler::apply(pqxx::work& txn, std::span<const Event> events) {
  static const std::vector<std::string> kColumns = {"user_id",       "event_type",   "event_version",  "event_data",
                                                    "\"timestamp\"", "processed_at", "global_position"};
  pqxx::stream_to copy(txn, postgres::quote_identifier(table_), kColumns);
  for (const Event& event : events) {
    // 'now' is PostgreSQL's input spelling of the transaction time, like Django's timezone.now() fallback.
    const std::string timestamp = event.recorded_at.empty() ? "now" : event.recorded_at;
    copy << std::make_tuple(event.stream_id, std::string(class_name_of(event.type)), event.version,
                            boost::json::serialize(event.data), timestamp, "now", event.position);
  }
  copy.complete();
}

// The id comes from the table's identity sequence and the time is the writing transaction's.
std::map<std::string, std::set<std::string>> EventLogHandler::bookkeeping_columns() const {
  return {{table_, {"id", "processed_at"}}};
}

}  // namespace projectord::handlers
