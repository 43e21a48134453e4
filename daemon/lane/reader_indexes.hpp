#pragma once
/// The indexes for readers of a handler's model (ProjectionHandler::reader_indexes), and when a lane builds
/// them. A build from position 0 writes its rows first and indexes them once it has caught up: one sort per
/// index instead of an entry per row written. A session that starts further on builds them at once (those
/// present are left as they are, see handlers/reader_index.hpp). Each session asks again, so indexes an
/// earlier session did not finish are built by the next. One index is one unit of work for the watchdog
/// and the stuck state, as a batch is.
#include <functional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/event.hpp"
#include "handlers/reader_index.hpp"

namespace projectord {

class ReaderIndexes {
 public:
  ReaderIndexes(std::string handler, std::vector<handlers::ReaderIndex> indexes)
      : handler_(std::move(handler)), indexes_(std::move(indexes)) {}

  /// A session starts from `checkpoint`: true when the indexes are due at once (it starts past position 0).
  [[nodiscard]] bool start_session(Position checkpoint) {
    pending_ = !indexes_.empty();
    return pending_ && checkpoint > 0;
  }
  /// Whether they are due after a read that caught up, with no transaction open (they have not been built in
  /// this session yet).
  bool due_once_caught_up() const { return pending_; }

  /// Builds them on `target`, one index at a time; `unit_begins` is called before each. `checkpoint` and
  /// `clock` are for the log line that says they are ready. A failure is thrown (the session ends; the next
  /// one builds what is missing), except a missing privilege (only the table's owner may index it): that
  /// index is left out with a warning that says what to grant, and the handler goes on without it.
  void build(pqxx::connection& target, Position checkpoint, const Clock& clock,
             const std::function<void()>& unit_begins);

 private:
  std::string handler_;
  std::vector<handlers::ReaderIndex> indexes_;
  bool pending_ = false;  ///< not built in this session yet
};

}  // namespace projectord
