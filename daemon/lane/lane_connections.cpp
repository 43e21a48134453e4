#include "daemon/lane/lane_connections.hpp"

namespace projectord {

LaneConnections::LaneConnections(postgres::ConnectionPool* pool, std::string lane, std::vector<std::string> urls,
                                 std::function<void()> on_demand)
    : own_pool_(pool ? nullptr : std::make_unique<postgres::ConnectionPool>(urls.size() + 1)),
      pool_(pool ? pool : own_pool_.get()),
      lane_(std::move(lane)),
      urls_(std::move(urls)),
      on_demand_(std::move(on_demand)) {}

bool LaneConnections::hold(std::stop_token stop, const std::function<void()>& waiting) {
  if (!loan_) loan_ = pool_->borrow(lane_, urls_, stop, on_demand_, waiting);
  return loan_.has_value();
}

void LaneConnections::discard() {
  if (loan_) loan_->discard();
  loan_.reset();
}

}  // namespace projectord
