// Event paths (handlers/event_path.hpp): any text is compiled to a path or refused with an error, and a
// compiled path evaluates on any event, as text and as JSON. Input: the path on the first line, then the
// event's data (also used as its metadata) as JSON; a value that is not JSON leaves both empty.
#include <boost/json/parse.hpp>

#include "handlers/event_path.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using projectord::handlers::EventPath;
  projectord::fuzz::Lines lines(projectord::fuzz::as_text(data, size));
  const auto path = EventPath::parse(lines.next());
  if (!path) return 0;
  projectord::fuzz::require(EventPath::parse(path->text()).has_value(), "a path's text compiles again");

  projectord::Event event;
  event.source = "fuzz";
  event.position = 1700000000000;
  event.entry_id = "1700000000000-0";
  event.stream_id = "0b6b0d3c-9a6e-4c2f-8d7e-1f2a3b4c5d6e";
  event.version = 3;
  event.type = "users.events:UserRegistered";
  event.recorded_at = "2024-02-07T15:32:51.123456+00:00";
  boost::json::error_code ec;
  event.data = boost::json::parse(lines.rest(), ec);
  if (ec) event.data = nullptr;
  event.metadata = event.data;
  (void)path->evaluate(event);
  (void)path->evaluate_json(event);
  return 0;
}
