#pragma once
/// Rebuilds of a running daemon, requested and followed through its HTTP endpoint: POST /admin/rebuild/NAME,
/// then GET /status polled by the caller (Projectord::wait_until). A handler's rebuild has
///   - reached the head when a /status shows its `rebuild` object in phase "swapping" (the shadow was at the
///     head and the supervisor is stopping the live lane; the shadow catches up once more, then swaps);
///   - swapped when a /status shows no `rebuild` object and its table has another oid than at the request (the
///     swap's transaction put the shadow table in its place). Both together: the oid alone changes at the
///     swap's commit, a little before the rebuild lane ends; /status alone is null before the rebuild starts.
/// The times are those of the poll that saw it (polls every 20 ms: the resolution of the figures).
#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

namespace projectord::bench {

struct RebuiltHandler {
  std::string handler;
  std::string table;  ///< the live table its rebuild replaces
};

struct RebuildProgress {
  RebuiltHandler rebuilt;
  std::int64_t table_oid = 0;  ///< at the request
  std::optional<std::chrono::steady_clock::time_point> at_head;
  std::optional<std::chrono::steady_clock::time_point> swapped;
  std::int64_t events_applied = 0;  ///< by the shadow, as /status last showed it
};

class RebuildWatch {
 public:
  RebuildWatch(unsigned short port, pqxx::connection& connection, const std::vector<RebuiltHandler>& handlers);

  /// POST /admin/rebuild/NAME for every handler, one right after the other; throws unless each answers 202.
  void request();

  /// One poll of /status (and of the tables' oids once a rebuild has left /status). True when every rebuild
  /// has reached `stage`.
  enum class Stage { at_head, swapped };
  bool poll(Stage stage);

  std::chrono::steady_clock::time_point requested() const { return requested_; }
  const std::vector<RebuildProgress>& progress() const { return progress_; }

  /// Seconds from the request to the last swap (or 0 while one is missing).
  double seconds_to_swap() const;

 private:
  unsigned short port_;
  pqxx::connection& connection_;
  std::vector<RebuildProgress> progress_;
  std::chrono::steady_clock::time_point requested_;
};

/// Every handler of GET /status with its `rebuild` object not null, by name (empty when none is).
std::vector<std::string> handlers_rebuilding(unsigned short port);

}  // namespace projectord::bench
