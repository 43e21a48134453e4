#include "config/connection_url.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <memory>

#include "base/redis/url.hpp"

namespace projectord::config {

namespace {

bool is_uri(std::string_view url) { return url.starts_with("postgresql://") || url.starts_with("postgres://"); }

// A '%' that does not start %XX: libpq's "invalid percent-encoded token" would quote the password around it.
bool has_bare_percent(std::string_view url) {
  for (std::size_t at = url.find('%'); at != std::string_view::npos; at = url.find('%', at + 1)) {
    if (at + 2 >= url.size() || !std::isxdigit(static_cast<unsigned char>(url[at + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(url[at + 2]))) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string postgres_url_problem(const std::string& url) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                        &PQconninfoFree);
  if (options) return {};
  const std::unique_ptr<char, decltype(&PQfreemem)> owned(error, &PQfreemem);
  if (is_uri(url) && has_bare_percent(url)) {
    return "not a valid PostgreSQL URI: a '%' that does not start a %XX escape (write a '%' of the password as %25)";
  }
  std::string message = error != nullptr ? error : "out of memory";
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
  if (message.find_first_of("\"'") == std::string::npos) return "not a valid PostgreSQL connection string: " + message;
  return is_uri(url) ? "not a valid PostgreSQL URI (postgresql://[user[:password]@]host[:port][/dbname][?param=value]);"
                       " the part libpq cannot read is not shown, since it may hold the password"
                     : "not a valid PostgreSQL connection string (key=value pairs, values with spaces in single"
                       " quotes); the part libpq cannot read is not shown, since it may hold the password";
}

void check_postgres_url(KindSection& section, std::string_view key) {
  if (!section.has(key) || section.str(key).empty()) return;
  if (const std::string problem = postgres_url_problem(section.str(key)); !problem.empty()) {
    section.error(key, problem);
  }
}

void check_redis_url(KindSection& section, std::string_view key) {
  if (!section.has(key) || section.str(key).empty()) return;
  if (const auto parsed = redis::parse_redis_url(section.str(key)); !parsed) section.error(key, parsed.error());
}

}  // namespace projectord::config
