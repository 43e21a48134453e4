#pragma once
/// The stores of bench-catchup's matrix: every preset, each with every codec its library writes, each in a
/// database of its own, its tables created as that library creates them (tests/support/store_schemas, and the
/// demo writer for eventsourcing_django's stored_events) and holding the demo's user events encoded as that
/// library encodes them.
///
/// Contract: every store holds the same events (UserEventGenerator of kSeed) in the same order, so the k-th
/// event has position k in each (once `projectord migrate --add-position` numbered the rows where the preset
/// needs it), and the `users` model projectord builds from any of them equals the set-based reference over
/// eventsourcing_django's stored_events on `compared_columns`, read through `compared_select`, which gives the
/// users the ids the reference has where the store keeps its own (django_event_store's integer aggregate ids).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace projectord::bench {

struct StoreCombination {
  std::string preset;
  config::Codec codec;

  /// "preset/codec".
  std::string name() const;
  /// Whether the codec decrypts: such a combination reports its ratio and is held to no bound.
  bool encrypted() const { return config::is_encrypted(codec); }
  bool operator==(const StoreCombination&) const = default;
};

/// Every preset with every codec its library writes, presets in docs/config.md's order, each preset's plain
/// JSON codec first: eventsourcing_json for pyeventsourcing's stores (the transcoder's JSON, no compression or
/// cipher), json for the rest.
std::vector<StoreCombination> store_combinations();

/// The combination's preset with its plain JSON codec.
StoreCombination plain_json_of(const StoreCombination& combination);

/// The daemon's environment for reading the store: CIPHER_KEY (base64) for the aes codecs, as docs/config.md
/// "Encrypted payloads" has it.
std::vector<std::pair<std::string, std::string>> store_environment(const StoreCombination& combination);

/// Creates the store's tables in the empty database `url` names and loads the first `count` events into
/// them with COPY, then VACUUM ANALYZE. `log_path` takes the demo writer's output.
void create_store(const std::string& url, const StoreCombination& combination, std::int64_t count,
                  const std::string& log_path);

/// The [sources.shop] table of a config that reads the store.
std::string store_source_toml(const StoreCombination& combination);

/// Whether `projectord migrate --add-position shop` must number the store's rows before a catch-up.
bool store_needs_position(const StoreCombination& combination);

/// The columns of user_projection that a model built from the store has as the reference does: a store
/// without stream versions (django_event_tables) leaves out current_version.
std::string compared_columns(const StoreCombination& combination);

/// SELECT of compared_columns from `model` (in the store's database), with the reference's user ids.
std::string compared_select(const StoreCombination& combination, const std::string& model);

}  // namespace projectord::bench
