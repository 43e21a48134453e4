#include "handlers/side_effects/webhook.hpp"

#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>

#include "base/printable.hpp"
#include "handlers/side_effects/failure_text.hpp"

namespace projectord::handlers {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// sent_together: a record covers this many waves of max_in_flight requests (64 events at the default 16).
constexpr std::size_t kWavesPerRecord = 4;

// Where requests go, from the configured URL.
struct Target {
  bool tls = false;
  std::string host;         ///< to resolve, for SNI and for the certificate's name
  std::string port;
  std::string host_header;  ///< host[:port] as the URL wrote it
  std::string path;         ///< path and query
  std::string shown;        ///< scheme://host[:port]/..., for messages: no credentials, path or query
};

Result<Target> parse_target(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return fail("not a URL: " + parsed.error().message());
  Target target;
  const std::string scheme(parsed->scheme());
  if (scheme != "http" && scheme != "https") return fail("the scheme must be http or https, got " + scheme);
  target.tls = scheme == "https";
  target.host = std::string(parsed->host_address());
  if (target.host.empty()) return fail("no host");
  target.port = parsed->has_port() ? std::string(parsed->port()) : (target.tls ? "443" : "80");
  target.host_header = std::string(parsed->encoded_host_and_port());
  target.path = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  // Slack- and Discord-style URLs carry their secret in the path, which logs and /status must not show.
  target.shown = scheme + "://" + target.host_header + (target.path == "/" ? "/" : "/...");
  if (parsed->has_query()) target.path += "?" + std::string(parsed->encoded_query());
  return target;
}

std::string body_of(const Event& event) {
  boost::json::object body{{"source", event.source}, {"position", event.position}};
  if (!event.entry_id.empty()) body["entry_id"] = event.entry_id;
  body["stream_id"] = event.stream_id;
  body["version"] = event.version;
  body["type"] = event.type;
  body["recorded_at"] = event.recorded_at;
  body["data"] = event.data;
  body["metadata"] = event.metadata;
  return boost::json::serialize(body);
}

std::string unix_seconds() {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A kept-alive connection to the target: plain or TLS, or none yet.
struct Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  bool open() const { return plain.has_value() || tls.has_value(); }
  void close() {
    plain.reset();
    tls.reset();
  }
};

using Response = http::response<http::string_body>;

template <class Stream>
net::awaitable<Response> exchange(Stream& stream, const http::request<http::string_body>& request,
                                  std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await http::async_write(stream, request, net::use_awaitable);
  beast::flat_buffer buffer;
  Response response;
  co_await http::async_read(stream, buffer, response, net::use_awaitable);
  co_return response;
}

// Errors a kept-alive connection shows when the receiver closed it while it was idle.
bool stale_connection(const boost::system::error_code& code) {
  return code == http::error::end_of_stream || code == net::error::eof || code == net::error::connection_reset ||
         code == net::error::broken_pipe || code == ssl::error::stream_truncated;
}

}  // namespace

struct Webhook::State {
  Target target;
  std::string secret;
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds request_timeout;
  std::chrono::milliseconds retry_after_cap;
  net::io_context io;
  ssl::context tls{ssl::context::tls_client};
  std::vector<Connection> connections;  ///< one per concurrent request, kept across deliveries

  net::awaitable<void> connect(Connection& connection) {
    const auto executor = co_await net::this_coro::executor;
    // The stream's deadline does not cover name resolution: a timer of its own cancels a lookup that hangs.
    // Shared with the timer's handler, which may run after this coroutine has moved on.
    const auto resolver = std::make_shared<tcp::resolver>(executor);
    net::steady_timer lookup_deadline(executor, connect_timeout);
    lookup_deadline.async_wait([resolver](boost::system::error_code expired) {
      if (!expired) resolver->cancel();
    });
    beast::tcp_stream stream(executor);
    const auto endpoints = co_await resolver->async_resolve(target.host, target.port, net::use_awaitable);
    lookup_deadline.cancel();
    stream.expires_after(connect_timeout);
    co_await stream.async_connect(endpoints, net::use_awaitable);
    if (!target.tls) {
      connection.plain.emplace(std::move(stream));
      co_return;
    }
    connection.tls.emplace(std::move(stream), tls);
    if (SSL_set_tlsext_host_name(connection.tls->native_handle(), target.host.c_str()) != 1) {
      throw boost::system::system_error(net::error::invalid_argument, "SNI");
    }
    connection.tls->set_verify_callback(ssl::host_name_verification(target.host));
    beast::get_lowest_layer(*connection.tls).expires_after(connect_timeout);
    co_await connection.tls->async_handshake(ssl::stream_base::client, net::use_awaitable);
  }

  http::request<http::string_body> request_for(const Event& event) const {
    http::request<http::string_body> request(http::verb::post, target.path, 11);
    request.set(http::field::host, target.host_header);
    request.set(http::field::user_agent, "projectord/" PROJECTORD_VERSION);
    request.set(http::field::content_type, "application/json");
    request.set("Idempotency-Key", idempotency_key(event));
    request.body() = body_of(event);
    if (!secret.empty()) {
      const std::string timestamp = unix_seconds();
      request.set("X-Projectord-Timestamp", timestamp);
      request.set("X-Projectord-Signature", webhook_signature(secret, timestamp, request.body()));
    }
    request.prepare_payload();
    return request;
  }

  DeliveryOutcome judge(const Response& response) const {
    const unsigned status = response.result_int();
    if (status >= 200 && status < 300) return {};
    std::string error = target.shown + " answered " + std::to_string(status);
    if (!response.reason().empty()) error += " " + std::string(response.reason());
    if (status == 408 || status == 429) {
      const auto after = response.find(http::field::retry_after);
      const auto delay =
          after == response.end() ? std::chrono::milliseconds(0)
                                  : retry_after(after->value(), std::chrono::system_clock::now(), retry_after_cap);
      return {DeliveryOutcome::Kind::retry, error, delay};
    }
    if (status >= 500) return {DeliveryOutcome::Kind::retry, error, {}};
    if (status >= 300 && status < 400) error += " (redirects are not followed)";
    return {DeliveryOutcome::Kind::permanent, error, {}};
  }

  // Never throws: whatever goes wrong is the event's outcome.
  net::awaitable<DeliveryOutcome> send(Connection& connection, const Event& event) {
    http::request<http::string_body> request;
    try {
      request = request_for(event);
    } catch (const std::length_error& error) {  // a header value of 64 KiB or more, which Beast cannot hold
      co_return DeliveryOutcome{DeliveryOutcome::Kind::permanent,
                                target.shown + ": the request cannot be built: " + error.what(), {}};
    } catch (const std::exception& error) {  // out of memory: not the event's fault
      co_return DeliveryOutcome{DeliveryOutcome::Kind::retry,
                                target.shown + ": the request cannot be built: " + error.what(), {}};
    }
    for (int attempt = 0;; ++attempt) {
      const bool reused = connection.open();
      try {
        if (!connection.open()) co_await connect(connection);
        Response response;
        if (connection.tls) {
          response = co_await exchange(*connection.tls, request, request_timeout);
        } else {
          response = co_await exchange(*connection.plain, request, request_timeout);
        }
        if (!response.keep_alive()) connection.close();
        co_return judge(response);
      } catch (const boost::system::system_error& error) {
        connection.close();
        // A receiver that closed an idle kept-alive connection has seen nothing of this request: once more
        // on a new connection.
        if (reused && attempt == 0 && stale_connection(error.code())) continue;
        // operation_aborted: the name lookup's deadline cancelled it.
        const bool timed_out = error.code() == beast::error::timeout || error.code() == net::error::operation_aborted;
        const std::string why = timed_out ? "timed out" : error.code().message();
        co_return DeliveryOutcome{DeliveryOutcome::Kind::retry, target.shown + ": " + why, {}};
      } catch (...) {  // e.g. out of memory reading the response: not the receiver's fault
        connection.close();
        co_return DeliveryOutcome{DeliveryOutcome::Kind::retry,
                                  target.shown + ": " + failure_text(std::current_exception()), {}};
      }
    }
  }
};

Result<std::unique_ptr<Webhook>> Webhook::make(const config::Handler& handler) {
  const config::SideEffectSettings& settings = handler.side_effect;
  auto target = parse_target(settings.url);
  if (!target) return fail("handler " + handler.name + ": url: " + target.error());
  auto state = std::make_unique<State>();
  state->target = std::move(*target);
  state->secret = settings.secret;
  if (!state->secret.empty() && !state->target.tls) {
    spdlog::warn("handler={} event=plain_http_with_secret url={} (allow_plain_http = true)", handler.name,
                 log_value(state->target.shown));
  }
  state->retry_after_cap = handler.retry_backoff_max;
  state->connect_timeout = settings.connect_timeout;
  state->request_timeout = settings.request_timeout;
  state->connections.resize(std::max<std::size_t>(settings.max_in_flight, 1));
  boost::system::error_code error;
  state->tls.set_default_verify_paths(error);
  if (!error && !settings.ca_file.empty()) state->tls.load_verify_file(settings.ca_file, error);
  if (error) return fail("handler " + handler.name + ": ca_file " + settings.ca_file + ": " + error.message());
  state->tls.set_verify_mode(ssl::verify_peer);
  return std::unique_ptr<Webhook>(new Webhook(std::move(state)));
}

Webhook::Webhook(std::unique_ptr<State> state) : state_(std::move(state)) {}
std::size_t Webhook::sent_together() const { return kWavesPerRecord * state_->connections.size(); }

Webhook::~Webhook() = default;

std::vector<DeliveryOutcome> Webhook::deliver(std::span<const Event> events) {
  State& s = *state_;
  // An event a worker never gets to (it ended early) stays a retry.
  std::vector<DeliveryOutcome> outcomes(
      events.size(), DeliveryOutcome{DeliveryOutcome::Kind::retry, s.target.shown + ": not sent", {}});
  std::size_t next = 0;
  const std::size_t workers = std::min(s.connections.size(), events.size());
  for (std::size_t w = 0; w < workers; ++w) {
    auto work = [&s, &outcomes, &next, events, w]() -> net::awaitable<void> {
      while (next < events.size()) {
        const std::size_t i = next++;
        outcomes[i] = co_await s.send(s.connections[w], events[i]);
      }
    };
    // No exception may leave a handler: run() would return with the other workers still queued on `s.io`,
    // pointing at this call's `outcomes`, to be resumed by the next call.
    net::co_spawn(s.io, work, [&s, w](std::exception_ptr error) {
      if (!error) return;
      s.connections[w].close();
      spdlog::error("webhook={} event=delivery_worker_failed error={}", log_value(s.target.shown),
                    log_value(failure_text(error)));
    });
  }
  s.io.restart();
  s.io.run();
  return outcomes;
}

std::string webhook_signature(const std::string& secret, const std::string& timestamp, const std::string& body) {
  const std::string signed_text = timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "v1=";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0x0f];
  }
  return out;
}

std::chrono::milliseconds retry_after(std::string_view value, std::chrono::system_clock::time_point now,
                                      std::chrono::milliseconds cap) {
  using std::chrono::milliseconds;
  std::uint64_t seconds = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (end == value.data() + value.size() && !value.empty()) {
    // Compared in seconds: a value that would overflow as milliseconds (or as an integer at all) is the cap.
    if (error == std::errc::result_out_of_range || seconds >= static_cast<std::uint64_t>(cap.count() / 1000 + 1)) {
      return cap;
    }
    if (error == std::errc()) return std::min<milliseconds>(std::chrono::seconds(seconds), cap);
  }
  std::tm parsed{};
  const std::string text(value);
  const char* rest = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parsed);
  if (rest == nullptr || *rest != '\0') return milliseconds(0);
  const auto at = std::chrono::system_clock::from_time_t(::timegm(&parsed));
  if (at <= now) return milliseconds(0);
  return std::min(std::chrono::duration_cast<milliseconds>(at - now), cap);
}

}  // namespace projectord::handlers
