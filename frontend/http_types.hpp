// Plain HTTP values exchanged between the Beast session and the request handlers. Runs in:
// a frontend worker. Keeps Beast out of everything that only needs a parsed request (the
// router, builders and renderers), so those stay fast to compile and easy to test.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::frontend {

enum class Method { Get, Head, Post, Put, Delete, Other };

[[nodiscard]] std::string_view methodName(Method method);

/// A request as Beast parsed it from untrusted bytes. `target` is the raw request-target.
struct HttpRequest {
  Method method = Method::Other;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keepAlive = true;

  /// First value of a header (case-insensitive name), or empty.
  [[nodiscard]] std::string header(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Close the connection after this response (fatal errors, broker gone).
  bool closeAfter = false;
  /// Send the body with Transfer-Encoding: chunked (streams that ended before their head
  /// went out keep the framing clients expect of them, like a pull).
  bool chunked = false;

  void setHeader(std::string name, std::string value);
  [[nodiscard]] std::string header(std::string_view name) const;
};

}  // namespace dockerbox::frontend
