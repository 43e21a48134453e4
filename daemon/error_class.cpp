#include "daemon/error_class.hpp"

#include <regex>
#include <string>

#include "base/postgres/errors.hpp"

namespace projectord {

namespace {

bool matches(std::string_view text, const std::regex& pattern) {
  return std::regex_search(text.begin(), text.end(), pattern);
}

}  // namespace

std::string_view error_class(std::string_view error) {
  if (error.empty()) return {};
  if (const std::string_view state = postgres::sqlstate_in(error); !state.empty()) {
    return postgres::sqlstate_class(state);
  }
  // handlers/side_effects/webhook.cpp: "URL answered 503 Service Unavailable".
  static const std::regex kAnswered(R"( answered ([345])\d\d\b)");
  std::match_results<std::string_view::const_iterator> answered;
  if (std::regex_search(error.begin(), error.end(), answered, kAnswered)) {
    static constexpr std::string_view kHttp[] = {"http_3xx", "http_4xx", "http_5xx"};
    return kHttp[static_cast<std::size_t>(answered[1].str()[0] - '3')];
  }
  // The sources' decoders: "source shop position 7: zlib: ...", "source orders entry 1-0: field 'data' ...".
  static const std::regex kDecode(R"(source \S+ (position \d+|entry \d+-\d+): )");
  if (matches(error, kDecode)) return "decode";
  if (error.find("standing by") != std::string_view::npos) return "standby";
  if (error.find("lost its lease") != std::string_view::npos) return "lease_lost";
  static const std::regex kTimeout(R"(timed out|timeout)", std::regex::icase);
  if (matches(error, kTimeout)) return "timeout";
  static const std::regex kConnection(R"(connect|authenticat|server closed|redis at )", std::regex::icase);
  if (matches(error, kConnection)) return "connection";
  return "handler";
}

}  // namespace projectord
