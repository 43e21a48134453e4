#include "config/interpolation.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "config/text.hpp"

namespace projectord::config {
namespace {

bool is_env_name(std::string_view name) {
  const auto word = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  return !name.empty() && word(name.front()) &&
         std::ranges::all_of(name, [&](char c) { return word(c) || (c >= '0' && c <= '9'); });
}

// Result<std::string> cannot tell a value from an error by type, so a value says it is one.
Result<std::string> value(std::string text) { return {boost::system::in_place_value, std::move(text)}; }

}  // namespace

Result<std::string> interpolate(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("$${")) {
      out += "${";
      i += 3;
      continue;
    }
    if (!rest.starts_with("${")) {
      out += text[i++];
      continue;
    }
    const auto close = rest.find('}');
    if (close == std::string_view::npos) return fail("unterminated ${ (write $${ for a literal ${)");
    std::string_view name = rest.substr(2, close - 2);
    std::optional<std::string_view> fallback;
    if (const auto separator = name.find(":-"); separator != std::string_view::npos) {
      fallback = name.substr(separator + 2);
      name = name.substr(0, separator);
    }
    if (!is_env_name(name)) return fail("bad ${...}: a variable name is letters, digits and _");
    const char* variable = std::getenv(std::string(name).c_str());
    // As in the shell, ${NAME:-default} also replaces a variable that is set but empty.
    if (fallback && (variable == nullptr || *variable == '\0')) {
      out += *fallback;
    } else if (variable != nullptr) {
      out += variable;
    } else {
      return fail("environment variable " + std::string(name) + " is not set");
    }
    i += close + 1;
  }
  return value(std::move(out));
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return value(std::move(text).str());
}

Result<std::string> read_value_file(const std::filesystem::path& config_dir, const std::string& name) {
  const std::filesystem::path path = config_dir / name;  // an absolute `name` replaces config_dir
  auto content = read_text_file(path);
  if (!content) return fail("cannot read " + in_quotes(path.string()) + ": " + content.error());
  while (!content->empty() && (content->back() == '\n' || content->back() == '\r')) content->pop_back();
  if (content->empty()) return fail(in_quotes(path.string()) + " is empty");
  return content;
}

}  // namespace projectord::config
