#pragma once
/// A source (sources/source.hpp) with no events to read, for tests of the lane's units: what its recheck
/// found (late rows, a change to the holes) and the holes it watches are the test's to set.
#include <string>
#include <utility>
#include <vector>

#include "sources/source.hpp"

namespace projectord::testing {

class QuietSource final : public Source {
 public:
  std::vector<SourceRow> late;         ///< handed out by the next late_rows, once
  bool holes_changed = false;          ///< said by the next late_rows, once
  checkpoints::HoleDeadlines watched;  ///< what holes() returns

  std::vector<SourceRow> late_rows(bool& changed) override {
    changed = std::exchange(holes_changed, false);
    return std::exchange(late, {});
  }
  const checkpoints::HoleDeadlines& holes() const override { return watched; }
  void open(const std::string&, checkpoints::HoleDeadlines) override {}
  SourceBatch read(Position after, std::size_t, std::stop_token) override { return {{}, after, after}; }
  void wait(bool, std::stop_token) override {}
  void wake() override {}
  void committed(Position) override {}
  void checkpoint_reset(Position) override {}
  Position head() override { return 0; }
  RowAt row_at(Position) override { return {RowAt::Found::missing, 0}; }
  std::optional<SourceRow> read_at(Position) override { return std::nullopt; }
  bool written_since_last_asked() override { return false; }
  Diagnostics diagnostics() const override { return {}; }
  const std::string& name() const override { return name_; }
  std::size_t batch_size() const override { return 100; }

 private:
  std::string name_ = "quiet";
};

}  // namespace projectord::testing
