#include "daemon/lane/attempt_journal.hpp"

#include "base/postgres/session.hpp"
#include "checkpoints/attempts.hpp"

namespace projectord {

namespace {

// Every lane's journal borrows under this one name: they set nothing on the connection but its
// application_name, so one lane's journal may take the connection another's had without a reset.
constexpr const char* kJournal = "attempt-journal";

}  // namespace

template <class Use>
auto AttemptJournal::with_connection(Use use) {
  postgres::ConnectionPool::Loan loan = connections_.nested(kJournal);
  try {
    const postgres::Lent lent = loan[0];
    if (lent.session != prepared_session_) {
      postgres::prepare_session(lent.connection, kJournal);
      prepared_session_ = lent.session;
    }
    return use(lent.connection);
  } catch (...) {
    loan.discard();  // the lane judges the failure; the connection's state is unknown
    throw;
  }
}

std::map<PositionRange, int> AttemptJournal::recorded() {
  return with_connection([&](pqxx::connection& c) { return checkpoints::recorded_attempts(c, checkpoint_); });
}

void AttemptJournal::record(const std::vector<PositionRange>& ranges) {
  with_connection([&](pqxx::connection& c) { checkpoints::record_attempts(c, checkpoint_, epoch_, ranges); });
}

}  // namespace projectord
