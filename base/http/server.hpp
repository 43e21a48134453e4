#pragma once
/// A small HTTP/1.1 server on Asio + Beast for projectord's health, status and metrics endpoints.
/// Runs on its own io_context thread so that nothing it serves waits on a database. Each connection
/// is a coroutine: read one request (with a deadline and a body limit), route it, write the response,
/// keep-alive until the client closes or the idle deadline passes. Garbage bytes, oversized or slow
/// requests close that connection (400/413/408 where a response can still be written); the server goes on.
/// Connections and deferred answers are capped, so that no client can take the process's file descriptors:
/// at the connection cap the longest-idle connection makes room (a request in progress is never cut), and a
/// deferred answer beyond its cap is refused with 503 and Retry-After.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.hpp"

namespace projectord::http {

/// A HEAD request reaches the handler as "GET": the server sends the headers of its answer, Content-Length
/// included, without the body, so that no handler has to know about HEAD.
struct Request {
  std::string method;
  std::string target;  // path + query as sent
  std::string path;    // without query
  std::string query;
  std::string authorization;  // Authorization header or ""
  std::string host;           // Host header or ""
  std::string origin;         // Origin header or "": a browser's request from a web page
  std::string body;
};

struct Response {
  unsigned status = 200;  // a handler bug outside 200..599 is answered with 500
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers{};  // more header fields, e.g. Retry-After
};

/// Completes a deferred request. Callable from any thread; only the first call counts, and a call after the
/// request timed out or the server stopped does nothing.
using Reply = std::function<void(Response)>;

/// An answer that comes later (a long poll such as GET /wait): the server calls `start` with the Reply for
/// this request and holds the connection until it is called or `timeout` passes, then sends `on_timeout`.
/// A client that closes its connection meanwhile frees it at once; the Reply then does nothing.
struct Deferred {
  std::chrono::milliseconds timeout{0};
  Response on_timeout;
  std::function<void(Reply)> start;
};

using Answer = std::variant<Response, Deferred>;

/// Handlers run on the server's thread and must not block; they read state that other threads publish.
/// A handler that throws is answered with 500 and logged.
using Handler = std::function<Answer(const Request&)>;

/// The read deadline runs from a connection's accept (first request) or from the first byte of a later
/// request until the whole request is in; it also bounds writing a response and the lingering close.
/// The idle deadline is how long a kept-alive connection may wait for its next request.
/// The caps keep the server's descriptors well under the 1024 that a service gets by default.
struct Limits {
  std::size_t body_limit = 64 * 1024;
  std::chrono::milliseconds read_deadline{5000};
  std::chrono::milliseconds idle_deadline{30000};
  std::size_t max_connections = 256;
  std::size_t max_deferred = 128;  ///< deferred answers held at once (parked GET /wait), within max_connections
};

class Server {
 public:
  /// `listen` is "HOST:PORT": "127.0.0.1:9464", "[::1]:9464", "localhost:0" (0 = any free port).
  static Result<std::unique_ptr<Server>> start(const std::string& listen, Handler handler, Limits limits = {});
  ~Server();                    // stops accepting, closes connections, joins the thread
  unsigned short port() const;  // the bound port
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  struct State;  // keeps Asio and Beast out of this header
  explicit Server(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace projectord::http
