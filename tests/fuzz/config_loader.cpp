// The config loader (config/loader.hpp) over any text: TOML parsing, interpolation, every option table
// check and the mapping to the config structs, with the handler kinds the stock daemon registers. Whatever
// the text, the loader answers with a config or with errors, each of them "FILE:LINE: ..." or "FILE: ...".
#include "config/loader.hpp"
#include "handlers/registry.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const projectord::config::OptionTable& options = projectord::handlers::option_table();
  const std::string text(projectord::fuzz::as_text(data, size));
  const auto loaded = projectord::config::load_config_text(text, "fuzz.toml", options);
  for (const std::string& error : loaded.errors) {
    projectord::fuzz::require(error.starts_with("fuzz.toml"), "every config error names the file");
  }
  return 0;
}
