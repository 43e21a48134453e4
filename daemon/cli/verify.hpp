#pragma once
/// `projectord verify HANDLER`: rebuilds a projection's read model from its source's events into a copy and
/// compares the copy with the live tables row by row.
///
/// Contract: everything happens in one REPEATABLE READ transaction on the read-model database, which is
/// rolled back at the end. Its snapshot, taken by its first statement, reads the handler's checkpoint P
/// (the read model and the checkpoint commit together, so the live tables in that snapshot are exactly those
/// at P) and its dead letters; the events up to P, less the dead-lettered ones and the undecodable ones, are
/// applied to the handler's setup in a schema of the transaction's own (`projectord_v_NAME`, first on its
/// search_path); then each table of that schema is compared with the live table of its name as the snapshot
/// holds it (daemon/cli/table_diff.hpp). The daemon goes on meanwhile: later batches are not in the snapshot,
/// and nothing the daemon reads or writes is touched. The rollback leaves nothing behind, whatever way the
/// command ends. The price is one transaction as long as the replay: its snapshot holds back vacuum on the
/// database meanwhile. Exit codes: 0 equal, 1 a difference (the first ones and a summary on stdout), 2 the
/// verify could not be done (the reason on stderr).
#include <string>

#include "config/config.hpp"

namespace projectord::cli {

int command_verify(const config::Config& config, const std::string& handler);

}  // namespace projectord::cli
