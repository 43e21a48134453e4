#include "daemon/cli/admin_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "base/http/listen_address.hpp"

namespace projectord::cli {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using projectord::http::HostPort;

constexpr auto kDeadline = std::chrono::seconds(10);

Result<http::response<http::string_body>> call(http::verb verb, const HostPort& endpoint, const std::string& target,
                                               const std::string& token) {
  const std::string host = projectord::http::reachable_host(endpoint);
  try {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(kDeadline);
    stream.connect(net::ip::tcp::resolver(io).resolve(host, std::to_string(endpoint.port)));
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, host);
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response;
  } catch (const boost::system::system_error& error) {
    // Its what() adds the Asio source line that threw; the code's message is what a reader needs.
    return fail("cannot reach the running daemon at " + host + ":" + std::to_string(endpoint.port) + ": " +
                error.code().message());
  } catch (const std::exception& error) {
    return fail("cannot reach the running daemon at " + host + ":" + std::to_string(endpoint.port) + ": " +
                error.what());
  }
}

// The daemon's JSON answer, or the raw body when it is not JSON.
std::string field(const std::string& body, const char* key) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object() || !parsed.as_object().contains(key)) return {};
  const auto& value = parsed.as_object().at(key);
  return value.is_string() ? std::string(value.as_string()) : boost::json::serialize(value);
}

// The daemon's endpoint: `endpoint`, or else [http] listen.
Result<HostPort> daemon_endpoint(const config::Config& config, const std::string& endpoint) {
  const std::string listen = endpoint.empty() ? config.http.listen : endpoint;
  if (listen.empty()) return fail(config.file + " has no [http] listen: the running daemon has no endpoint");
  auto address = projectord::http::split_listen(listen);
  if (address && address->port == 0) {
    return fail("[http] listen has port 0 (any free one): --http HOST:PORT names the one the daemon bound");
  }
  return address;
}

}  // namespace

Result<std::string> daemon_status(const config::Config& config, const std::string& endpoint, bool with_token) {
  const auto address = daemon_endpoint(config, endpoint);
  if (!address) return fail(address.error());
  const auto response = call(http::verb::get, *address, "/status", with_token ? config.http.admin_token : "");
  if (!response) return fail(response.error());
  if (response->result_int() != 200) {
    return fail("the daemon's /status answered HTTP " + std::to_string(response->result_int()));
  }
  return Result<std::string>(boost::system::in_place_value, response->body());
}

int command_admin(const config::Config& config, const std::string& action, const std::string& handler,
                  const std::string& endpoint, const std::string& query) {
  const auto address = daemon_endpoint(config, endpoint);
  if (!address) {
    std::cerr << "projectord: " << address.error() << "\n";
    return 1;
  }
  const std::string target = "/admin/" + action + "/" + handler + (query.empty() ? "" : "?" + query);
  const auto response = call(http::verb::post, *address, target, config.http.admin_token);
  if (!response) {
    std::cerr << "projectord: " << response.error() << "\n";
    return 1;
  }
  const std::string& body = response->body();
  if (response->result_int() >= 300) {
    // The daemon's outcome (not_allowed_now, no_such_handler) when it got as far as the handler; the HTTP
    // status alone when the call itself was refused (a missing token).
    const std::string outcome = field(body, "outcome");
    const std::string error = field(body, "error");
    std::cerr << "projectord: " << action << " " << handler << ": " << (outcome.empty() ? "" : outcome + " ")
              << "(HTTP " << response->result_int() << ") " << (error.empty() ? body : error) << "\n";
    return 1;
  }
  std::cout << handler << ": " << field(body, "message");
  if (const std::string position = field(body, "position"); !position.empty()) {
    std::cout << " (position " << position << ")";
  }
  std::cout << "\n";
  return 0;
}

}  // namespace projectord::cli
