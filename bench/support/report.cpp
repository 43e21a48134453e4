#include "bench/support/report.hpp"

#include <unistd.h>

#include <array>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <pqxx/nontransaction>
#include <sstream>

namespace projectord::bench {

void print_header(std::string_view title, pqxx::connection& connection) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 64> date{};
  std::strftime(date.data(), date.size(), "%a %b %e %H:%M:%S UTC %Y", &utc);

  pqxx::nontransaction txn(connection);
  const std::string version = txn.exec1("SHOW server_version")[0].c_str();
  const std::string fsync = txn.exec1("SHOW fsync")[0].c_str();
  const std::string shared_buffers = txn.exec1("SHOW shared_buffers")[0].c_str();
  std::cout << "== " << title << " ==\n"
            << "date: " << date.data() << "\n"
            << "machine: nproc " << ::sysconf(_SC_NPROCESSORS_ONLN) << ", PostgreSQL " << version << " (fsync " << fsync
            << ", shared_buffers " << shared_buffers << "), build " BENCH_BUILD_TYPE "\n";
}

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

std::string ratio(double numerator, double denominator) {
  if (denominator <= 0) return "n/a";
  const double r = numerator / denominator;
  return fixed(r, r < 9.995 ? 2 : 0) + "x";  // 9.996 would print as "10.00x"
}

void Checks::expect(bool ok, std::string_view what, std::string_view detail) {
  if (!ok) ++failures_;
  std::cout << "check " << what << ": " << (ok ? "PASS" : "FAIL");
  if (!detail.empty()) std::cout << " (" << detail << ")";
  std::cout << std::endl;
}

}  // namespace projectord::bench
