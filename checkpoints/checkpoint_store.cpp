#include "checkpoints/checkpoint_store.hpp"

namespace projectord::checkpoints {

namespace {
constexpr const char* kAdvance = "projectord_checkpoint_advance";
}  // namespace

void CheckpointStore::prepare(pqxx::connection& connection) const {
  connection.prepare(kAdvance,
                     "UPDATE projectord.checkpoints SET position = $3, events_applied = events_applied + $4,"
                     " updated_at = now() WHERE handler = $1 AND position = $2");
}

Position CheckpointStore::load(pqxx::connection& connection) const {
  pqxx::work txn(connection);
  txn.exec_params("INSERT INTO projectord.checkpoints (handler, source) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                  handler_, source_);
  const Position position =
      txn.exec_params1("SELECT position FROM projectord.checkpoints WHERE handler = $1", handler_)[0].as<Position>();
  txn.commit();
  return position;
}

void CheckpointStore::advance(pqxx::work& txn, Position from, Position to, std::int64_t events) const {
  const pqxx::result updated = txn.exec_prepared(kAdvance, handler_, from, to, events);
  if (updated.affected_rows() != 1) {
    throw CheckpointMoved("handler " + handler_ + ": checkpoint is no longer at " + std::to_string(from) +
                          " (another projectord process runs this handler?)");
  }
}

}  // namespace projectord::checkpoints
