#pragma once
/// Column mappings of the PostgreSQL event stores projectord tails unchanged (pyeventsourcing's and
/// eventsourcing_django's `stored_events`, Django `EventStoreRecord` models, any table), and the check that a
/// source's table and column names are identifiers that can be quoted safely.
///
/// A preset is data: the sources.* keys it fills, spelled as in a config file, so the loader applies them
/// exactly like option defaults (an explicit key always wins), plus the keys it cannot guess.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace projectord::config {

/// The preset of a source over several tables, one per event type (PostgresSource::tables).
inline constexpr std::string_view kEventTablesPreset = "django_event_tables";

struct Preset {
  std::string_view name;
  /// sources.* key -> value, e.g. {"position_column", "notification_id"}, {"commit_order", "serialized"}.
  std::vector<std::pair<std::string_view, std::string_view>> defaults;
  std::vector<std::string_view> required{};  ///< keys the user must set, e.g. "table" for generic
};

/// The preset called `name`, or nullptr.
const Preset* find_preset(std::string_view name);

/// "projectord_" + table with '.' replaced by '_', cut to 63 bytes: the channel a source LISTENs on and
/// `projectord migrate`'s trigger notifies unless notify_channel says otherwise.
std::string default_notify_channel(std::string_view table);

struct MappingProblem {
  std::string_view key;  ///< the sources.* key at fault, e.g. "type_column"
  std::string message;
};

/// Checks a filled mapping: the table and the position, type and payload columns are set (for
/// django_event_tables: at least one table, none twice, type_names only for listed tables), and every name
/// (tables, columns, notify channel) is a safe identifier. Empty optional columns mean "none"; an empty
/// notify channel is left for the caller to derive from a checked table.
std::vector<MappingProblem> check_mapping(const PostgresSource& source);

}  // namespace projectord::config
