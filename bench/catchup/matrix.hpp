#pragma once
/// bench-catchup's matrix: the same catch-up (`projectord run --exit-when-caught-up`, whole process, the users
/// model alone, from position 0 into an empty model) over the same events in every store preset with every
/// codec its library writes, one database each, every store once per round and the median round reported,
/// against two baselines of the same run: the preset's own plain JSON codec, and django_event_store with
/// `json` (a jsonb column: no decoding beyond the JSON parse). Every model is checked equal to the set-based
/// reference; a combination without a cipher slower than kMinPlainRatio of either baseline fails its check,
/// a cipher's ratio is reported and not held to it.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/catchup/store_matrix.hpp"

namespace projectord::bench {

inline constexpr double kMinPlainRatio = 0.7;

/// The combinations `preset` and `codec` ("all" for every one) name, with the baselines they are compared with
/// added, in store_combinations() order. Throws UsageError when they name none.
std::vector<StoreCombination> select_combinations(const std::string& preset, const std::string& codec);

struct MatrixRun {
  std::string server_url;  ///< where the bench may create databases
  std::string projectord;  ///< the binary
  std::int64_t events = 0;
  std::int64_t rounds = 1;
  std::vector<StoreCombination> combinations;
};

/// Runs and prints the matrix; returns the number of failed checks.
int run_matrix(const MatrixRun& run);

}  // namespace projectord::bench
