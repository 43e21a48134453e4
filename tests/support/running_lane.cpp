#include "tests/support/running_lane.hpp"

#include <stdexcept>

#include "sources/postgres/table_source.hpp"
#include "handlers/registry.hpp"

namespace projectord::testing {

namespace {

std::unique_ptr<handlers::ProjectionHandler> handler_for(const config::Handler& handler) {
  auto made = handlers::make_projection(handler);
  if (!made) throw std::runtime_error(made.error());
  return std::move(*made);
}

}  // namespace

RunningLane::RunningLane(const TestDatabase& db, const config::PostgresSource& source, const config::Handler& handler,
                         LaneOptions options)
    : leases_(db.url(), checkpoints::this_process(), {}),
      lane_(std::make_unique<Lane>(handler, std::make_unique<PostgresTableSource>(source, wake_, clock_), db.url(),
                                   handler_for(handler), clock_, leases_, std::move(options))),
      thread_([this](std::stop_token stop) { lane_->run(stop); }) {}

RunningLane::RunningLane(const TestDatabase& db, std::unique_ptr<Source> source, const config::Handler& handler,
                         LaneOptions options)
    : RunningLane(db, std::move(source), handler, handler_for(handler), std::move(options)) {}

RunningLane::RunningLane(const TestDatabase& db, std::unique_ptr<Source> source, const config::Handler& handler,
                         std::unique_ptr<handlers::ProjectionHandler> projection, LaneOptions options)
    : leases_(db.url(), checkpoints::this_process(), {}),
      lane_(std::make_unique<Lane>(handler, std::move(source), db.url(), std::move(projection), clock_, leases_,
                                   std::move(options))),
      thread_([this](std::stop_token stop) { lane_->run(stop); }) {}

void RunningLane::stop() {
  thread_.request_stop();
  wake_.notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace projectord::testing
