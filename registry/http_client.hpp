// A small HTTP/1.1 client for registries: one GET per connection, TLS with the system's CA
// bundle (plain HTTP only where the caller allows it), every step under a deadline, bodies
// capped before they are read. Runs in: dockerbox-registry (unprivileged, sandboxed).
// Input: whatever the network sends (untrusted).
#pragma once

#include "common/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::registry {

struct Url {
  bool tls = true;
  std::string host;  // without brackets for IPv6
  std::string port;  // "443", "80", "5000"
  std::string target = "/";  // path and query

  [[nodiscard]] std::string hostHeader() const;
  [[nodiscard]] std::string text() const;
};

/// http(s)://host[:port][/path?query]. User info and fragments are refused.
[[nodiscard]] Result<Url> parseUrl(std::string_view text);

struct HttpResponse {
  unsigned status = 0;
  std::string contentType;
  std::string wwwAuthenticate;
  std::string location;
  std::string contentDigest;  // Docker-Content-Digest
  std::string body;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  /// `tls` holds the CA certificates (loaded before the sandbox closes the filesystem).
  HttpClient(boost::asio::ssl::context& tls, std::chrono::seconds stepTimeout)
      : tls_(tls), stepTimeout_(stepTimeout) {}

  /// GETs `url`; a body longer than `bodyLimit` is an error (the connection is dropped).
  /// Redirects are returned, not followed.
  boost::asio::awaitable<Result<HttpResponse>> get(const Url& url, const Headers& headers, std::size_t bodyLimit);

 private:
  boost::asio::ssl::context& tls_;
  std::chrono::seconds stepTimeout_;
};

/// A TLS context that verifies peers against the system's CA bundle (OpenSSL's default
/// paths, read now). TLS 1.2 or newer.
[[nodiscard]] Result<boost::asio::ssl::context> makeTlsContext();

}  // namespace dockerbox::registry
