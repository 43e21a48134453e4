#include "orders_handler.hpp"

#include <map>
#include <string>
#include <utility>

#include "base/postgres/identifier.hpp"
#include "handlers/event_path.hpp"
#include "handlers/event_types.hpp"

namespace orders {
namespace {

using projectord::Event;
using projectord::Result;
namespace config = projectord::config;
namespace handlers = projectord::handlers;

class OrdersHandler final : public handlers::ProjectionHandler {
 public:
  OrdersHandler(std::string table, std::string event_type, handlers::EventPath customer, handlers::EventPath amount)
      : table_(projectord::postgres::quote_identifier(table)), event_type_(std::move(event_type)),
        customer_(std::move(customer)), amount_(std::move(amount)) {}

  // Each statement names the table it creates: a lane runs it only where the table is missing, so a daemon
  // role that may only write the table needs no CREATE in its schema.
  std::vector<handlers::SetupStatement> setup_sql() const override {
    return {{table_, "CREATE TABLE IF NOT EXISTS " + table_ +
                         " (customer_id text PRIMARY KEY, orders bigint NOT NULL, total bigint NOT NULL)"}};
  }

  // Folds a batch per customer, so a transaction writes each customer once.
  void apply(pqxx::work& /*txn*/, std::span<const Event> events) override {
    for (const Event& event : events) {
      if (handlers::class_name_of(event.type) != event_type_) continue;
      const auto customer = customer_.evaluate(event);
      const auto amount = amount_.evaluate(event);
      if (!customer || !amount) throw std::runtime_error("order without customer or amount");
      auto& [orders, total] = pending_[*customer];
      orders += 1;
      total += std::stoll(*amount);
    }
  }

  void flush(pqxx::work& txn) override {
    for (const auto& [customer, sums] : pending_) {
      txn.exec_params0("INSERT INTO " + table_ + " AS t VALUES ($1, $2, $3) ON CONFLICT (customer_id) DO UPDATE"
                       " SET orders = t.orders + EXCLUDED.orders, total = t.total + EXCLUDED.total",
                       customer, sums.first, sums.second);
    }
    pending_.clear();
  }

  void discard() override { pending_.clear(); }

 private:
  std::string table_;
  std::string event_type_;
  handlers::EventPath customer_;
  handlers::EventPath amount_;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> pending_;  ///< customer -> (orders, total)
};

// clang-format off
const std::vector<config::Option> kOptions{
    {.section = "handlers.*", .key = "event_type", .type = config::OptionType::string,
     .default_value = R"("OrderPlaced")", .reloadable = true, .help = "Event type (class name) of a placed order."},
    {.section = "handlers.*", .key = "customer_path", .type = config::OptionType::string,
     .default_value = R"("data.customer_id")", .reloadable = true, .help = "Event path of the customer id."},
    {.section = "handlers.*", .key = "amount_path", .type = config::OptionType::string, .reloadable = true,
     .help = "Event path of the order's amount, an integer (cents).", .required = true},
};
// clang-format on

// Paths are checked at load, so check-config names the file, line and key of a bad one.
void load(config::KindSection& s, config::Handler& /*handler*/) {
  for (const char* key : {"customer_path", "amount_path"}) {
    if (auto path = handlers::EventPath::parse(s.str(key)); !path && s.has(key)) s.error(key, path.error());
  }
}

Result<std::unique_ptr<handlers::ProjectionHandler>> make(const config::Handler& handler) {
  auto customer = handlers::EventPath::parse(handler.option<std::string>("customer_path"));
  auto amount = handlers::EventPath::parse(handler.option<std::string>("amount_path"));
  if (!customer || !amount) return projectord::fail("handler " + handler.name + ": bad event path");
  return std::unique_ptr<handlers::ProjectionHandler>(std::make_unique<OrdersHandler>(
      handler.table, handler.option<std::string>("event_type"), std::move(*customer), std::move(*amount)));
}

}  // namespace

handlers::Kind orders_kind() {
  return {.schema = {.name = "orders", .default_table = "customer_order_totals", .options = kOptions, .load = load},
          .make = make};
}

}  // namespace orders
