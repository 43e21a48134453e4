#include "config/control.hpp"

#include <algorithm>

#include "base/postgres/identifier.hpp"
#include "config/text.hpp"

namespace projectord::config {
namespace {

std::string role_problem(std::string_view role) {
  if (role.empty()) return "a role name must not be empty";
  if (std::ranges::any_of(role, [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return "a role name must not contain control characters";
  }
  if (role.size() > postgres::kMaxIdentifierBytes) {
    return "role names have at most " + std::to_string(postgres::kMaxIdentifierBytes) + " bytes, got " +
           in_quotes(role);
  }
  // PUBLIC means every role in GRANT; nobody logs in as it, so listing it would allow nothing it seems to.
  if (role == "public") return "public is not a login role: name the roles that may send commands";
  return {};
}

}  // namespace

Control load_control(Section& s) {
  Control control;
  control.notify = s.flag("notify");
  control.allowed_roles = s.strings("allowed_roles");
  for (const std::string& role : control.allowed_roles) {
    if (const std::string problem = role_problem(role); !problem.empty()) s.error("allowed_roles", problem);
  }
  if (control.notify && control.allowed_roles.empty()) {
    s.error("allowed_roles", "required, and not empty, when notify = true: the roles whose commands are obeyed");
  }
  return control;
}

}  // namespace projectord::config
