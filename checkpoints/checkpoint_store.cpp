#include "checkpoints/checkpoint_store.hpp"

#include <boost/json.hpp>
#include <pqxx/nontransaction>

namespace projectord::checkpoints {

namespace {
constexpr const char* kAdvance = "projectord_checkpoint_advance";
}  // namespace

void CheckpointStore::prepare(pqxx::connection& connection) const {
  connection.prepare(kAdvance,
                     "UPDATE projectord.checkpoints SET position = $3, events_applied = events_applied + $4,"
                     " holes = $5::jsonb, updated_at = now() WHERE handler = $1 AND position = $2 AND ($6::bigint IS NULL"
                     " OR EXISTS (SELECT 1 FROM projectord.leases WHERE name = $1 AND epoch = $6))");
}

std::optional<Position> stored_position(pqxx::connection& connection, const std::string& handler) {
  pqxx::nontransaction txn(connection);
  const pqxx::result row = txn.exec_params("SELECT position FROM projectord.checkpoints WHERE handler = $1", handler);
  return row.empty() ? std::nullopt : std::optional<Position>(row[0][0].as<Position>());
}

bool CheckpointStore::exists(pqxx::connection& connection) const {
  return stored_position(connection, handler_).has_value();
}

Checkpoint CheckpointStore::load(pqxx::connection& connection, Position first) {
  pqxx::work txn(connection);
  txn.exec_params(
      "INSERT INTO projectord.checkpoints (handler, source, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
      handler_, source_, first);
  std::optional<Position> behind_tracking;
  if (tracking_) {
    tracking_->detect(txn);
    const Position tracked = tracking_->position(txn);
    const auto stored = txn.exec_params1("SELECT position FROM projectord.checkpoints WHERE handler = $1", handler_)[0]
                            .as<Position>();
    if (stored < tracked) {
      txn.exec_params0("UPDATE projectord.checkpoints SET position = $2, holes = '{}', anchor_position = NULL,"
                       " anchor_fingerprint = NULL, updated_at = now() WHERE handler = $1",
                       handler_, tracked);
      behind_tracking = stored;
    }
  }
  const pqxx::row row =
      txn.exec_params1("SELECT position, holes::text, anchor_position, anchor_fingerprint"
                       " FROM projectord.checkpoints WHERE handler = $1",
                       handler_);
  txn.commit();
  Checkpoint checkpoint{row[0].as<Position>(), {}, std::nullopt, behind_tracking};
  if (!row[2].is_null() && !row[3].is_null()) {
    checkpoint.mark = RowMark{row[2].as<Position>(), row[3].as<std::int64_t>()};
  }
  const boost::json::value holes = boost::json::parse(row[1].c_str());
  for (const auto& [position, deadline] : holes.as_object()) {
    checkpoint.holes.emplace(std::stoll(std::string(position)), deadline.to_number<std::int64_t>());
  }
  return checkpoint;
}

void CheckpointStore::advance(pqxx::work& txn, Position from, Position to, std::int64_t events,
                              const HoleDeadlines& holes) const {
  boost::json::object json;
  for (const auto& [position, deadline] : holes) json[std::to_string(position)] = deadline;
  const pqxx::result updated =
      txn.exec_prepared(kAdvance, handler_, from, to, events, boost::json::serialize(json), epoch_);
  if (updated.affected_rows() != 1 && epoch_) {
    const pqxx::result lease =
        txn.exec_params("SELECT 1 FROM projectord.leases WHERE name = $1 AND epoch = $2", handler_, *epoch_);
    if (lease.empty()) {
      throw LeaseLost("handler " + handler_ + ": lost its lease (epoch " + std::to_string(*epoch_) +
                      ") to another projectord process");
    }
  }
  if (updated.affected_rows() != 1) {
    throw CheckpointMoved("handler " + handler_ + ": checkpoint is no longer at " + std::to_string(from) +
                          " (another projectord process runs this handler?)");
  }
  if (tracking_ && to > 0) tracking_->record(txn, to);
}

void CheckpointStore::mark(pqxx::connection& connection, const RowMark& mark) const {
  pqxx::nontransaction txn(connection);
  txn.exec_params0("UPDATE projectord.checkpoints SET anchor_position = $2, anchor_fingerprint = $3"
                   " WHERE handler = $1 AND position >= $2",
                   handler_, mark.position, mark.fingerprint);
}

void CheckpointStore::reset(pqxx::connection& connection, Position to) const {
  pqxx::work txn(connection);
  txn.exec_params0("UPDATE projectord.checkpoints SET position = $2, holes = '{}', anchor_position = NULL,"
                   " anchor_fingerprint = NULL, updated_at = now() WHERE handler = $1",
                   handler_, to);
  if (tracking_) tracking_->reset(txn, to);
  txn.commit();
}

}  // namespace projectord::checkpoints
