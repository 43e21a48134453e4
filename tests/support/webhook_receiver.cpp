#include "tests/support/webhook_receiver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <stdexcept>

#include "tests/support/daemon_process.hpp"

namespace projectord::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

TlsFiles tls_files(const std::string& dir, const std::string& host) {
  TlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  const auto run = [](std::vector<std::string> args) {
    const RunResult result = run_command(std::move(args));
    if (result.exit_code != 0) throw std::runtime_error("openssl failed: " + result.output);
  };
  run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=projectord test CA",
       "-keyout", dir + "/ca.key", "-out", files.ca});
  run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + host, "-keyout", files.key, "-out",
       dir + "/server.csr"});
  const std::string extensions = dir + "/san.cnf";
  run({"sh", "-c", "printf 'subjectAltName=DNS:" + host + "\\n' > " + extensions});
  run({"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", files.ca, "-CAkey", dir + "/ca.key",
       "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", files.cert});
  return files;
}

struct WebhookReceiver::Impl {
  explicit Impl(Responder responder) : responder(std::move(responder)) {}

  Responder responder;
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::unique_ptr<ssl::context> tls;
  mutable std::mutex mutex;
  std::vector<ReceivedRequest> received;
  std::atomic<bool> held{false};
  std::atomic<std::chrono::milliseconds::rep> latency_ms{0};
  std::atomic<std::size_t> in_progress{0};
  std::thread thread;

  template <class Stream>
  net::awaitable<void> serve(Stream& stream, std::atomic<std::size_t>& most) {
    beast::flat_buffer buffer;
    for (;;) {
      // Beast's default 1 MB body limit would refuse a big event's body before the test could look at it.
      http::request_parser<http::string_body> parser;
      parser.body_limit(boost::none);
      co_await http::async_read(stream, buffer, parser, net::use_awaitable);
      const http::request<http::string_body>& request = parser.get();
      const std::size_t now = ++in_progress;
      for (std::size_t seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      ReceivedRequest copy{std::string(request.target()), {}, request.body()};
      for (const auto& field : request) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        copy.headers[name] = std::string(field.value());
      }
      std::size_t index = 0;
      {
        std::lock_guard lock(mutex);
        index = received.size();
        received.push_back(copy);
      }
      net::steady_timer wait(co_await net::this_coro::executor);
      if (const auto latency = std::chrono::milliseconds(latency_ms.load()); latency.count() > 0) {
        wait.expires_after(latency);
        co_await wait.async_wait(net::use_awaitable);
      }
      while (held) {
        wait.expires_after(std::chrono::milliseconds(1));
        co_await wait.async_wait(net::use_awaitable);
      }
      const ScriptedResponse scripted = responder(index, copy);
      http::response<http::string_body> response(static_cast<http::status>(scripted.status), 11);
      for (const auto& [name, value] : scripted.headers) response.set(name, value);
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      --in_progress;
      co_await http::async_write(stream, response, net::use_awaitable);
      if (!request.keep_alive()) co_return;
    }
  }

  net::awaitable<void> session(tcp::socket socket, std::atomic<std::size_t>& most) {
    try {
      if (!tls) {
        beast::tcp_stream stream(std::move(socket));
        co_await serve(stream, most);
      } else {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
        co_await stream.async_handshake(ssl::stream_base::server, net::use_awaitable);
        co_await serve(stream, most);
      }
    } catch (const std::exception&) {  // the client went away, or its TLS handshake failed
    }
  }

  net::awaitable<void> accept(std::atomic<std::size_t>& most) {
    for (;;) {
      tcp::socket socket = co_await acceptor.async_accept(net::use_awaitable);
      net::co_spawn(io, session(std::move(socket), most), net::detached);
    }
  }
};

WebhookReceiver::WebhookReceiver(Responder responder, const TlsFiles* tls)
    : impl_(std::make_unique<Impl>(std::move(responder))) {
  if (tls != nullptr) {
    impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(tls->cert);
    impl_->tls->use_private_key_file(tls->key, ssl::context::pem);
  }
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  net::co_spawn(impl_->io, impl_->accept(most_at_once_), net::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

WebhookReceiver::~WebhookReceiver() {
  impl_->held = false;
  impl_->io.stop();
  impl_->thread.join();
}

std::vector<ReceivedRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received;
}

void WebhookReceiver::hold() { impl_->held = true; }
void WebhookReceiver::release() { impl_->held = false; }
void WebhookReceiver::answer_after(std::chrono::milliseconds latency) { impl_->latency_ms = latency.count(); }

config::Handler webhook_handler(const WebhookReceiver& receiver, config::OnError on_error) {
  using namespace std::chrono_literals;
  config::Handler handler;
  handler.name = "hook";
  handler.kind = "webhook";
  handler.source = "store";
  handler.on_error = on_error;
  handler.max_attempts = 5;
  handler.retry_backoff = 1ms;
  handler.retry_backoff_max = 2ms;
  handler.side_effect.url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/events";
  handler.side_effect.secret = "s3cret";
  handler.side_effect.request_timeout = 5s;
  return handler;
}

}  // namespace projectord::testing
