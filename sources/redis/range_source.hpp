#pragma once
/// A Redis stream replayed from the start with XRANGE, as a rebuild lane's source: no consumer group, nothing
/// acknowledged, the live lane's group left alone.
///
/// A rebuild needs every entry after its checkpoint. When the stream was trimmed (or an entry deleted)
/// past it, the source refuses with SourceRefused instead of building a partial read model.
#include <optional>

#include "config/config.hpp"
#include "sources/source.hpp"
#include "sources/redis/stream_reader.hpp"
#include "sources/redis/stream_rows.hpp"

namespace projectord {

class RedisRangeSource final : public Source {
 public:
  explicit RedisRangeSource(config::RedisSource source);

  void open(const std::string& session_name, checkpoints::HoleDeadlines holes) override;
  SourceBatch read(Position after, std::size_t limit, std::stop_token stop) override;
  void wait(bool blocked, std::stop_token stop) override;
  void wake() override {}
  void committed(Position /*to*/) override {}
  void checkpoint_reset(Position /*to*/) override {}
  std::vector<SourceRow> late_rows(bool& holes_changed) override;
  std::optional<SourceRow> read_at(Position position) override;
  Position head() override { return stream_head(reader_); }
  RowAt row_at(Position position) override { return stream_row_fingerprint(source_, reader_, position); }
  const checkpoints::HoleDeadlines& holes() const override { return no_holes_; }
  bool written_since_last_asked() override { return false; }
  Diagnostics diagnostics() const override { return {}; }
  const std::string& name() const override { return source_.name; }
  std::size_t batch_size() const override { return source_.batch_size; }

 private:
  config::RedisSource source_;
  sources::RedisStreamReader reader_;
  checkpoints::HoleDeadlines no_holes_;
  bool checked_ = false;  ///< the stream was checked for entries trimmed past the checkpoint
  /// The last entry this session read, and the `to` of that read: a read after that `to` goes on from the
  /// entry, since a stand-in position (stream_rows.hpp) leads back to no entry id.
  std::optional<sources::StreamEntryId> read_past_;
  Position read_to_ = 0;
};

}  // namespace projectord
