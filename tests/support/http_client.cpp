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
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(deadline);
  stream.connect(net::ip::tcp::resolver(io).resolve(host, std::to_string(port)));
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, host);
  for (const auto& [name, value] : headers) request.set(name, value);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return {response.result_int(), std::string(response[http::field::content_type]), response.body()};
}

}  // namespace projectord::testing
