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

Result<http::response<http::string_body>> post(const HostPort& endpoint, const std::string& target,
                                               const std::string& token) {
  const std::string host = projectord::http::reachable_host(endpoint);
  try {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(kDeadline);
    stream.connect(net::ip::tcp::resolver(io).resolve(host, std::to_string(endpoint.port)));
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, host);
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response;
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

}  // namespace

int command_admin(const config::Config& config, const std::string& action, const std::string& handler,
                  const std::string& endpoint, const std::string& query) {
  const std::string listen = endpoint.empty() ? config.http.listen : endpoint;
  if (listen.empty()) {
    std::cerr << "projectord: " << config.file << " has no [http] listen: the running daemon has no admin endpoint\n";
    return 1;
  }
  const auto address = projectord::http::split_listen(listen);
  if (!address) {
    std::cerr << "projectord: " << address.error() << "\n";
    return 1;
  }
  const std::string target = "/admin/" + action + "/" + handler + (query.empty() ? "" : "?" + query);
  const auto response = post(*address, target, config.http.admin_token);
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
