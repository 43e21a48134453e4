#include "daemon/lane/reader_indexes.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <pqxx/nontransaction>

#include "base/postgres/errors.hpp"
#include "base/printable.hpp"

namespace projectord {

void ReaderIndexes::build(pqxx::connection& target, Position checkpoint, const Clock& clock,
                          const std::function<void()>& unit_begins) {
  const auto started = clock.now();
  for (const handlers::ReaderIndex& index : indexes_) {
    unit_begins();
    try {
      pqxx::nontransaction txn(target);
      handlers::create_reader_index(txn, index);
    } catch (const std::exception& error) {
      if (!postgres::is_setup_problem(error)) throw;
      // Readers go slower without it; the handler's writes do not need it.
      spdlog::warn("handler={} event=reader_index_skipped index={} error={}", handler_, index.name,
                   log_value(postgres::setup_hint(error, target.username())));
    }
  }
  pending_ = false;
  spdlog::info("handler={} event=reader_indexes_ready position={} ms={}", handler_, checkpoint,
               std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - started).count());
}

}  // namespace projectord
