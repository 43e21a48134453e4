#include "daemon/lane/attempt_journal.hpp"

#include "base/postgres/conninfo.hpp"
#include "base/postgres/session.hpp"
#include "checkpoints/attempts.hpp"

namespace projectord {

pqxx::connection& AttemptJournal::connection() {
  // A broken connection is not replaced: the lane judges that transient and begins a new session, with a new
  // journal.
  if (!connection_) {
    connection_ = std::make_unique<pqxx::connection>(postgres::with_keepalives(target_url_));
    postgres::prepare_session(*connection_, checkpoint_ + ":attempts");
  }
  return *connection_;
}

std::map<PositionRange, int> AttemptJournal::recorded() {
  return checkpoints::recorded_attempts(connection(), checkpoint_);
}

void AttemptJournal::record(const std::vector<PositionRange>& ranges) {
  checkpoints::record_attempts(connection(), checkpoint_, epoch_, ranges);
}

}  // namespace projectord
