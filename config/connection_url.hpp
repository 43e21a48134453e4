#pragma once
/// Connection URLs checked at load, where a mistake can still be named by file, line and key: PostgreSQL's
/// (database.url, a source's url) with libpq's own parser, PQconninfoParse, so that no later connection
/// attempt logs what libpq says of a bad one; Redis's (a redis source's url, a celery or redis_publish
/// handler's) with base/redis/url. The reports never contain the value or a part of it: libpq quotes the
/// part it cannot parse (a password with a bare `%`), so its message is replaced by a fixed description
/// whenever it quotes anything. A key that is absent, empty or already reported is left alone.
#include <string>
#include <string_view>

#include "config/handler_kind.hpp"

namespace projectord::config {

/// What is wrong with a libpq connection string (URI or key=value), without quoting it; "" when libpq
/// accepts it.
std::string postgres_url_problem(const std::string& url);

void check_postgres_url(KindSection& section, std::string_view key);
void check_redis_url(KindSection& section, std::string_view key);

}  // namespace projectord::config
