#include "daemon/lane/reader_indexes.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <pqxx/nontransaction>

namespace projectord {

void ReaderIndexes::build(pqxx::connection& target, Position checkpoint, const Clock& clock,
                          const std::function<void()>& unit_begins) {
  const auto started = clock.now();
  for (const handlers::ReaderIndex& index : indexes_) {
    unit_begins();
    pqxx::nontransaction txn(target);
    handlers::create_reader_index(txn, index);
  }
  pending_ = false;
  spdlog::info("handler={} event=reader_indexes_ready position={} ms={}", handler_, checkpoint,
               std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - started).count());
}

}  // namespace projectord
