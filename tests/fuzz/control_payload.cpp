// The NOTIFY control channel's payload parser (daemon/control_channel.hpp): any payload a database user can
// send is a request or an error, and a request always names a handler and says where it came from.
#include "daemon/control_channel.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using projectord::fuzz::require;
  const auto request = projectord::parse_control(projectord::fuzz::as_text(data, size));
  if (request) {
    require(!request->handler.empty(), "a parsed control request names a handler");
    require(request->origin == "notify", "a parsed control request comes from notify");
  }
  return 0;
}
