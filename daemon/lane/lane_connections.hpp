#pragma once
/// The connections a lane works on: its target's and, with a PostgreSQL source, its reader's, borrowed
/// together from the daemon's pool (base/postgres/connection_pool.hpp) when the lane has work and given back
/// at its idle points (nothing open on them) once another lane waits. A lane run without the daemon's pool
/// (tests, one-shot tools) gets one of its own, just large enough.
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "base/postgres/connection_pool.hpp"

namespace projectord {

class LaneConnections {
 public:
  /// `urls`: the target's, then the reader's if the source reads PostgreSQL; `on_demand`: ends the lane's idle
  /// wait (see ConnectionPool::borrow); `pool`: the daemon's, or null.
  LaneConnections(postgres::ConnectionPool* pool, std::string lane, std::vector<std::string> urls,
                  std::function<void()> on_demand);

  /// Borrows them unless held, calling `waiting` if it must wait; false when `stop` came first.
  bool hold(std::stop_token stop, const std::function<void()>& waiting = {});
  bool held() const { return loan_.has_value(); }
  /// Held only.
  postgres::Lent target() const { return (*loan_)[0]; }
  postgres::Lent reader() const { return (*loan_)[1]; }

  /// Whether another lane waits for connections: the lane gives them back at its next idle point.
  bool asked_for() const { return pool_->asked_for(); }
  /// Gives them back, with nothing open on them.
  void give_back() { loan_.reset(); }
  /// Closes them: after an error their state is unknown.
  void discard();

  /// A short loan beside the held one (base/postgres/connection_pool.hpp: nested).
  postgres::ConnectionPool::Loan nested(const std::string& user) { return pool_->borrow_nested(user, urls_.front()); }

 private:
  std::unique_ptr<postgres::ConnectionPool> own_pool_;
  postgres::ConnectionPool* pool_;
  std::string lane_;
  std::vector<std::string> urls_;
  std::function<void()> on_demand_;
  std::optional<postgres::ConnectionPool::Loan> loan_;
};

}  // namespace projectord
