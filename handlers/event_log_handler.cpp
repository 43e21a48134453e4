#include "handlers/event_log_handler.hpp"

#include <boost/json/serialize.hpp>
#include <optional>
#include <pqxx/stream_to>
#include <tuple>

#include "base/postgres/identifier.hpp"
#include "base/postgres/pipelined_commit.hpp"
#include "handlers/django_tables.hpp"
#include "handlers/event_types.hpp"

namespace projectord::handlers {

namespace {

constexpr const char* kInsert = "projectord_event_log_insert";

const std::vector<std::string>& columns() {
  static const std::vector<std::string> names = {"user_id",       "event_type",   "event_version",  "event_data",
                                                 "\"timestamp\"", "processed_at", "global_position"};
  return names;
}

// The row an event becomes, in columns() order. 'now' is PostgreSQL's input spelling of the transaction time,
// like Django's timezone.now() fallback.
auto row_of(const Event& event) {
  return std::make_tuple(event.stream_id, std::string(class_name_of(event.type)), event.version,
                         boost::json::serialize(event.data),
                         event.recorded_at.empty() ? std::string("now") : event.recorded_at, std::string("now"),
                         event.position);
}

// The same row as the INSERT's parameters, in text as COPY sends it.
std::vector<std::optional<std::string>> parameters_of(const Event& event) {
  return std::apply(
      [](const auto&... field) { return std::vector<std::optional<std::string>>{pqxx::to_string(field)...}; },
      row_of(event));
}

}  // namespace

Result<std::unique_ptr<ProjectionHandler>> EventLogHandler::make(const config::Handler& handler) {
  return std::unique_ptr<ProjectionHandler>(new EventLogHandler(handler.table));
}

std::vector<SetupStatement> EventLogHandler::setup_sql() const { return user_event_log_ddl(table_); }

std::vector<ReaderIndex> EventLogHandler::reader_indexes() const { return user_event_log_reader_indexes(table_); }

EventLogHandler::EventLogHandler(std::string table) : table_(std::move(table)) {
  std::string names;
  for (const std::string& column : columns()) names += (names.empty() ? "" : ", ") + column;
  statements_.add(kInsert, "INSERT INTO " + postgres::quote_identifier(table_) + " (" + names +
                               ") VALUES ($1, $2, $3, $4, $5, $6, $7)");
}

void EventLogHandler::on_connect(pqxx::connection& connection, postgres::Pooling pooling) {
  statements_.prepare(connection, pooling);
}

void EventLogHandler::apply(pqxx::work& txn, std::span<const Event> events) {
  auto* live = dynamic_cast<postgres::PipelinedCommit*>(&txn);
  if (live != nullptr && live->takes(events.size())) {
    for (const Event& event : events) live->on_commit(statements_[kInsert], parameters_of(event));
    return;
  }
  pqxx::stream_to copy(txn, postgres::quote_identifier(table_), columns());
  for (const Event& event : events) copy << row_of(event);
  copy.complete();
}

// The id comes from the table's identity sequence and the time is the writing transaction's.
std::map<std::string, std::set<std::string>> EventLogHandler::bookkeeping_columns() const {
  return {{table_, {"id", "processed_at"}}};
}

}  // namespace projectord::handlers
