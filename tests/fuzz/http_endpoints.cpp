// The daemon's HTTP request handler (daemon/http/endpoints.hpp) as the server calls it, without sockets:
// routing, the Host and Origin checks, the admin token, the admin calls' and /wait's query parameters.
// Input, one per line: method, target (path and query), Authorization, Host, Origin, the configured admin
// token (empty: none), then the body. The daemon behind it has two handlers: `users`, whose checkpoint is at
// 100, and the stream-fed `orders`, which has none yet. Beyond "no crash": every answer's status is a valid
// one and an admin call without the configured token is refused.
#include <cctype>
#include <variant>

#include "daemon/http/endpoints.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using namespace projectord::http;
using projectord::fuzz::require;

class FakeDaemon final : public DaemonView {
 public:
  explicit FakeDaemon(std::string admin_token) : admin_token_(std::move(admin_token)) {}

  std::vector<HandlerStatus> handlers() const override {
    HandlerStatus users{"users", "users", "shop", {}, std::nullopt, false, "notify", std::nullopt};
    users.status.state = projectord::LaneState::idle;
    users.status.position = 100;
    users.status.head = 120;
    HandlerStatus orders{"orders", "sql", "orders-stream", {}, std::nullopt, true, "stream",
                         projectord::config::Partition{"orders", 1, 2}};
    orders.status.head = 1700000000000 << 21;
    return {users, orders};
  }
  EndpointSettings settings() const override { return {admin_token_, {}}; }
  AdminOutcome admin(const AdminRequest& request) override {
    admitted = true;
    if (request.handler != "users" && request.handler != "orders") return {AdminResult::no_such_handler, "no such handler", {}};
    if (request.action == AdminAction::skip) return {AdminResult::not_allowed_now, "not halted", std::nullopt};
    return {AdminResult::accepted, "ok", 100};
  }

  bool admitted = false;

 private:
  std::string admin_token_;
};

void check_status(const Response& response) {
  require(response.status >= 200 && response.status <= 599, "an answer's status is from 200 to 599");
}

// "Bearer TOKEN", the scheme in any case; anything goes when no token is configured.
bool carries_token(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer ";
  if (token.empty()) return true;
  if (authorization.size() != kScheme.size() + token.size() || authorization.substr(kScheme.size()) != token) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const projectord::SteadyClock clock;
  static const HostPort listen{"127.0.0.1", 9464};
  projectord::fuzz::Lines lines(projectord::fuzz::as_text(data, size));
  Request request;
  request.method = lines.next();
  request.target = lines.next();
  // As the server splits it.
  const std::size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  request.authorization = lines.next();
  request.host = lines.next();
  request.origin = lines.next();
  FakeDaemon daemon{std::string(lines.next())};
  request.body = lines.rest();

  projectord::CheckpointWaiters waiters(clock);
  waiters.advanced("users", 100);
  const Handler handler = make_endpoints(daemon, waiters, listen);
  const Answer answer = handler(request);
  if (const auto* response = std::get_if<Response>(&answer)) {
    check_status(*response);
  } else {
    const auto& deferred = std::get<Deferred>(answer);
    check_status(deferred.on_timeout);
    deferred.start([](Response reply) { check_status(reply); });
  }
  if (daemon.admitted) {
    require(carries_token(request.authorization, daemon.settings().admin_token),
            "an admin call reaches the daemon only with the configured token");
  }
  return 0;
}
