#pragma once
/// A blocking HTTP/1.1 client for tests: one request per connection, with a deadline.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace projectord::testing {

struct HttpReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

/// GET (or another method) http://HOST:PORT/TARGET with extra `headers`; throws when the server cannot be
/// reached or does not answer in time.
HttpReply http_request(const std::string& host, unsigned short port, const std::string& method,
                       const std::string& target, std::chrono::milliseconds deadline = std::chrono::seconds(5),
                       const Headers& headers = {});

}  // namespace projectord::testing
