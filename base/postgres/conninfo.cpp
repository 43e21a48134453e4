#include "base/postgres/conninfo.hpp"

#include <libpq-fe.h>

#include <array>
#include <memory>
#include <string_view>
#include <utility>

#include "base/tcp_keepalive.hpp"

namespace projectord::postgres {

namespace {

// libpq's key=value syntax: single quotes around the value, a backslash before each quote and backslash in it.
void append_option(std::string& conninfo, std::string_view key, std::string_view value) {
  if (!conninfo.empty()) conninfo += ' ';
  conninfo.append(key).append("='");
  for (const char c : value) {
    if (c == '\'' || c == '\\') conninfo += '\\';
    conninfo += c;
  }
  conninfo += '\'';
}

bool sets(const PQconninfoOption* options, std::string_view key) {
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->keyword == key) return option->val != nullptr;
  }
  return false;
}

}  // namespace

std::string with_keepalives(const std::string& url) {
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), nullptr),
                                                                              &PQconninfoFree);
  if (!options) return url;
  const std::array<std::pair<std::string_view, std::string>, 5> defaults{{
      {"keepalives", "1"},
      {"keepalives_idle", std::to_string(tcp_keepalive::kIdle.count())},
      {"keepalives_interval", std::to_string(tcp_keepalive::kInterval.count())},
      {"keepalives_count", std::to_string(tcp_keepalive::kCount)},
      {"tcp_user_timeout", std::to_string(tcp_keepalive::kUserTimeout.count())},
  }};
  std::string conninfo;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (option->val != nullptr) append_option(conninfo, option->keyword, option->val);
  }
  for (const auto& [key, value] : defaults) {
    if (!sets(options.get(), key)) append_option(conninfo, key, value);
  }
  return conninfo;
}

}  // namespace projectord::postgres
