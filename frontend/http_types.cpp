#include "frontend/http_types.hpp"

#include <algorithm>
#include <cctype>

namespace dockerbox::frontend {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string findHeader(const std::vector<std::pair<std::string, std::string>>& headers,
                       std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return {};
}

}  // namespace

std::string_view methodName(Method method) {
  switch (method) {
    case Method::Get: return "GET";
    case Method::Head: return "HEAD";
    case Method::Post: return "POST";
    case Method::Put: return "PUT";
    case Method::Delete: return "DELETE";
    case Method::Other: return "OTHER";
  }
  return "OTHER";
}

std::string HttpRequest::header(std::string_view name) const { return findHeader(headers, name); }

std::string HttpResponse::header(std::string_view name) const {
  return findHeader(headers, name);
}

void HttpResponse::setHeader(std::string name, std::string value) {
  for (auto& [key, existing] : headers) {
    if (equalsIgnoreCase(key, name)) {
      existing = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

}  // namespace dockerbox::frontend
