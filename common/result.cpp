#include "common/result.hpp"

#include <stdexcept>

namespace dockerbox {

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  // Reached only when code calls .value() on an error result: a bug, reported loudly.
  throw std::runtime_error(e.message + (e.context.empty() ? "" : " (" + e.context + ")"));
}

const char* toString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Internal: return "internal";
    case ErrorKind::BadRequest: return "bad-request";
    case ErrorKind::NotFound: return "not-found";
    case ErrorKind::Conflict: return "conflict";
    case ErrorKind::Forbidden: return "forbidden";
    case ErrorKind::Unavailable: return "unavailable";
    case ErrorKind::NotImplemented: return "not-implemented";
    case ErrorKind::NotModified: return "not-modified";
  }
  return "unknown";
}

}  // namespace dockerbox
