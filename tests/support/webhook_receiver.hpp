#pragma once
/// An HTTP(S) receiver for webhook tests, on 127.0.0.1 and a free port, on a thread of its own: it records
/// every request and answers what the test's responder says. It keeps connections alive, counts requests in
/// progress (the most at once), can hold its answers until released, and can answer each request only after a
/// fixed latency, as a slow receiver does: each request waits on a timer of its own, so answers to requests in
/// progress on several connections overlap rather than queue.
///
/// For https it is given a certificate chain and key (PEM files); tls_files() makes a throwaway CA and a
/// server certificate for a host name with the openssl command into a directory.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"

namespace projectord::testing {

struct ReceivedRequest {
  std::string target;
  std::map<std::string, std::string> headers;  ///< by lower-case name
  std::string body;
};

struct ScriptedResponse {
  unsigned status = 200;
  std::map<std::string, std::string> headers{};
};

struct TlsFiles {
  std::string ca;    ///< the CA's certificate: what the client trusts
  std::string cert;  ///< the server's certificate
  std::string key;
};

/// A CA and a certificate for `host` signed by it, made with `openssl` in `dir`.
TlsFiles tls_files(const std::string& dir, const std::string& host);

class WebhookReceiver {
 public:
  using Responder = std::function<ScriptedResponse(std::size_t index, const ReceivedRequest&)>;

  /// Plain HTTP, or HTTPS with `tls` set.
  explicit WebhookReceiver(Responder responder, const TlsFiles* tls = nullptr);
  ~WebhookReceiver();

  unsigned short port() const { return port_; }
  std::vector<ReceivedRequest> requests() const;
  std::size_t most_at_once() const { return most_at_once_; }

  /// Answers wait (with the request counted in progress) until release().
  void hold();
  void release();

  /// Each answer waits `latency` after its request arrived (counted in progress meanwhile); zero: at once.
  void answer_after(std::chrono::milliseconds latency);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
  std::atomic<std::size_t> most_at_once_{0};
};

/// A `webhook` handler `hook` of source `store` (tests/support/generic_store.hpp) delivering to `receiver`: five
/// attempts a millisecond or two apart, each request signed with the secret "s3cret" and given 5 s.
config::Handler webhook_handler(const WebhookReceiver& receiver, config::OnError on_error);

}  // namespace projectord::testing
