#pragma once
/// The man pages projectord(8) and projectord.toml(5) as roff (the man macros), rendered from the lists
/// `--help` prints (daemon/cli/usage.hpp) and from the option table, so that a command or key cannot be in
/// one and missing from the other. The build writes them with the hidden `projectord --man-page 8|5`. Every
/// text is escaped for roff: backslashes, hyphens (as \-), and dots or quotes that would start a request.
#include <string>
#include <string_view>

#include "config/option_table.hpp"

namespace projectord::cli {

std::string man_page_8();
std::string man_page_5(const config::OptionTable& table);

/// `text` as roff input text: the characters roff would read as escapes or requests made literal, and break
/// points after the separators of long value lists ("a|b|c") so that a line can end there.
std::string roff_text(std::string_view text);

}  // namespace projectord::cli
