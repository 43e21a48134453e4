#pragma once
/// Where the daemon LISTENs for a database's notifications. On session connections, on the database's own
/// url. Behind a transaction pooler a LISTEN would stay on a server session the pooler soon hands to another
/// client, so it goes to [database] listen_url, a direct connection to the [database]'s database; a database
/// it does not reach (a source with a url of its own) gets no LISTEN, and its readers poll.
#include <cstddef>
#include <optional>
#include <set>
#include <string>

#include "config/config.hpp"

namespace projectord::config {

/// The url to LISTEN on for notifications of the database at `url` (database.url or a postgres source's);
/// none: nothing listens, the readers poll.
std::optional<std::string> notify_url(const Config& config, const std::string& url);

/// The postgres sources the daemon LISTENs for, one connection each: those its handlers read that have a
/// notify_url. A Redis stream needs none (its reads block until entries arrive); the others are polled.
std::set<std::string> listened_sources(const Config& config);

/// The PostgreSQL connections the daemon keeps open for itself, outside the lanes' pool and within [database]
/// max_connections: the lease keeper's, one per listened source, and the control channel's LISTEN.
std::size_t kept_connections(const Config& config);

/// The least max_connections the lanes can work with: the kept connections, a lane's two (its target and its
/// source's reader) and the one its attempt journal borrows beside them (base/postgres/connection_pool.hpp).
std::size_t least_max_connections(const Config& config);

}  // namespace projectord::config
