#include "tests/support/login_role.hpp"

#include <unistd.h>

#include <cstdlib>
#include <pqxx/connection>
#include <pqxx/nontransaction>

namespace projectord::testing {

namespace {

void as_superuser(const std::string& sql) {
  pqxx::connection admin(std::getenv("PROJECTORD_TEST_PG"));
  pqxx::nontransaction(admin).exec(sql);
}

}  // namespace

LoginRole::LoginRole() : name_("projectord_login_" + std::to_string(::getpid()) + "_" + std::to_string(next_++)) {
  as_superuser("CREATE ROLE " + name_ + " LOGIN");
}

LoginRole::~LoginRole() {
  try {
    as_superuser("DROP ROLE IF EXISTS " + name_);
  } catch (const std::exception&) {  // a leftover role on a throwaway server harms no other test
  }
}

}  // namespace projectord::testing
