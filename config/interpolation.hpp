#pragma once
/// Where a config value comes from besides the file's text: `${NAME}` is replaced by the environment
/// variable NAME (`${NAME:-default}` falls back when it is unset or empty, `$${` is a literal `${`), and a
/// `KEY_file` key reads KEY's value from a file, so secrets can come from systemd credentials. Messages never
/// quote the value or the file's content: either may hold a password.
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace projectord::config {

/// `text` with every `${...}` replaced; an unset variable is an error naming it.
Result<std::string> interpolate(std::string_view text);

/// The whole content of `path`; the error is the system's reason.
Result<std::string> read_text_file(const std::filesystem::path& path);

/// The value of a `KEY_file` key: the file `name` (relative to `config_dir` unless absolute) minus its
/// trailing newlines; an empty file is an error.
Result<std::string> read_value_file(const std::filesystem::path& config_dir, const std::string& name);

}  // namespace projectord::config
