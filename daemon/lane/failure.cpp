#include "daemon/lane/failure.hpp"

#include <algorithm>

#include "base/postgres/errors.hpp"
#include "checkpoints/checkpoint_store.hpp"

namespace projectord {

LaneFailure judge_current_exception() {
  using Fault = LaneFailure::Fault;
  try {
    throw;
  } catch (const handlers::DeliveryFailed& failed) {
    return {failed.fault, one_line(failed.what()), failed.permanent, failed.retry_after};
  } catch (const handlers::HandlerError& error) {
    return {error.fault, one_line(error.what())};
  } catch (const checkpoints::CheckpointMoved& moved) {  // another process runs the handler: its own session decides
    return {Fault::transient, one_line(moved.what())};
  } catch (const std::exception& error) {
    return {postgres::is_transient(error) ? Fault::transient : Fault::event, one_line(error.what())};
  }
}

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

}  // namespace projectord
