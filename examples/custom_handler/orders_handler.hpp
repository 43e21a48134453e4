#pragma once
/// The `orders` handler kind: running totals per customer of OrderPlaced events, in a table of
/// (customer_id, orders, total). Its keys: `customer_path` and `amount_path` (event paths, e.g. data.amount,
/// an integer of cents), `event_type` (the type counted), and `table` (default customer_order_totals).
#include "handlers/registry.hpp"

namespace orders {

projectord::handlers::Kind orders_kind();

}  // namespace orders
