#pragma once
/// How the daemon's connections reach PostgreSQL. `session`: each connection is one server session for its
/// whole life (a direct connection, or a pooler in session mode), so what a connection sets or prepares stays.
/// `transaction`: a pooler (pgbouncer's pool_mode = transaction) hands each transaction, and each statement
/// outside one, to whichever server session is free, so nothing may outlive a transaction: no named prepared
/// statements, no session-level SET, no temporary table kept across commits, no LISTEN.
namespace projectord::postgres {

enum class Pooling { session, transaction };

}  // namespace projectord::postgres
