#pragma once
/// Paths into an Event, used to bind sql handler parameters and to map side effects' arguments: `position`,
/// `entry_id` (a Redis entry's id), `stream_id`, `version`, `type`,
/// `recorded_at`, `source`, `data` (whole object as JSON text), `data.a.b`, `metadata.user_id`, `data.items.0`.
///
/// A path is compiled once at config load (unknown roots are config errors) and evaluated per event
/// without allocation beyond the result. Evaluation yields the parameter's text form as PostgreSQL expects
/// it, or SQL NULL (std::nullopt) when the path is missing or JSON null: strings unquoted, numbers and
/// booleans in their JSON spelling, objects and arrays as compact JSON text.
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/event.hpp"
#include "base/result.hpp"

namespace projectord::handlers {

class EventPath {
 public:
  /// Parses "data.email" etc.; an error names the bad path and why.
  static Result<EventPath> parse(std::string_view text);

  std::optional<std::string> evaluate(const Event& event) const;
  /// The value as JSON (a Celery argument): data and metadata paths keep their JSON type, position and
  /// version are numbers, the rest strings; missing (or empty entry_id, recorded_at) is null.
  boost::json::value evaluate_json(const Event& event) const;
  const std::string& text() const { return text_; }

 private:
  enum class Root { position, entry_id, stream_id, version, type, recorded_at, source, data, metadata };
  EventPath(std::string text, Root root, std::vector<std::string> keys)
      : text_(std::move(text)), root_(root), keys_(std::move(keys)) {}

  std::string text_;
  Root root_;
  std::vector<std::string> keys_;  ///< JSON keys (or array indices as decimal text) below data/metadata
};

}  // namespace projectord::handlers
