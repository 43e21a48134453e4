#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace projectord::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

HttpReply http_request(const std::string& host, unsigned short port, const std::string& method,
                       const std::string& target, std::chrono::milliseconds deadline, const Headers& headers) {
  // Asynchronous operations run to completion here: the stream's deadline only bounds those (its synchronous
  // calls would wait forever for a server that accepted the connection and never answers).
  net::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, host);
  for (const auto& [name, value] : headers) request.set(name, value);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code failure;
  const auto endpoints = net::ip::tcp::resolver(io).resolve(host, std::to_string(port));
  stream.expires_after(deadline);  // one deadline for connect, write and read together
  stream.async_connect(endpoints, [&](beast::error_code ec, const net::ip::tcp::endpoint&) {
    if (ec) {
      failure = ec;
      return;
    }
    http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
      if (write_ec) {
        failure = write_ec;
        return;
      }
      http::async_read(stream, buffer, response, [&](beast::error_code read_ec, std::size_t) { failure = read_ec; });
    });
  });
  io.run();
  if (failure) throw beast::system_error(failure, method + " " + target);
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return {response.result_int(), std::string(response[http::field::content_type]), response.body()};
}

}  // namespace projectord::testing
