#pragma once
/// Operators' calls on a handler's dead letters (Lane::dead_letters): queued from any thread, served by the
/// lane's thread between transactions, on its target connection. `drop` removes the letters; `retry` re-reads
/// each letter's event from the source and applies it (out of order) in a transaction of its own, removing
/// the letter when that succeeds and recording the new error when not.
#include <cstdint>
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "handlers/event_types.hpp"
#include "handlers/projection_handler.hpp"
#include "sources/source.hpp"

namespace projectord {

enum class DeadLetterAction { retry, drop };

class DeadLetterRequests {
 public:
  struct Request {
    DeadLetterAction action;
    std::optional<std::int64_t> id;  ///< one letter's row id; empty: all of the handler's
  };

  /// Any thread.
  void add(DeadLetterAction action, std::optional<std::int64_t> id);
  /// The requests queued so far, in order; the queue goes on empty.
  std::vector<Request> take();
  bool empty() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

/// What serving a request needs of the lane.
struct DeadLetterDesk {
  const std::string& handler;
  Source& source;
  handlers::ProjectionHandler& projection;
  const handlers::TypeFilter& types;
};

/// Serves `requests` in order. A transient failure (base/postgres/errors.hpp) is thrown: the lane reconnects,
/// and the requests not served yet are lost with it (an operator asks again).
void serve(const DeadLetterDesk& desk, pqxx::connection& target, const std::vector<DeadLetterRequests::Request>& requests);

}  // namespace projectord
