#pragma once
/// Where the daemon LISTENs for a database's notifications. On session connections, on the database's own
/// url. Behind a transaction pooler a LISTEN would stay on a server session the pooler soon hands to another
/// client, so it goes to [database] listen_url, a direct connection to the [database]'s database; a database
/// it does not reach (a source with a url of its own) gets no LISTEN, and its readers poll.
#include <optional>
#include <string>

#include "config/config.hpp"

namespace projectord::config {

/// The url to LISTEN on for notifications of the database at `url` (database.url or a postgres source's);
/// none: nothing listens, the readers poll.
std::optional<std::string> notify_url(const Config& config, const std::string& url);

}  // namespace projectord::config
