#include "daemon/lane/failure.hpp"

#include "base/postgres/errors.hpp"
#include "checkpoints/checkpoint_store.hpp"

namespace projectord {

LaneFailure judge_current_exception() {
  using Fault = LaneFailure::Fault;
  try {
    throw;
  } catch (const handlers::DeliveryFailed& failed) {
    return {failed.fault, postgres::error_text(failed), failed.permanent, failed.retry_after};
  } catch (const handlers::HandlerError& error) {
    return {error.fault, postgres::error_text(error)};
  } catch (const checkpoints::CheckpointMoved& moved) {  // another process runs the handler: its own session decides
    return {Fault::transient, postgres::error_text(moved)};
  } catch (const std::exception& error) {
    if (postgres::is_setup_problem(error)) throw;
    return {postgres::is_transient(error) ? Fault::transient : Fault::event, postgres::error_text(error)};
  }
}

}  // namespace projectord
