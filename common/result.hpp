// Expected failures as values (style.md §5). Used by every process; no I/O here.
#pragma once

#include <boost/system/result.hpp>

#include <string>
#include <utility>

namespace dockerbox {

/// What went wrong, in the categories a Docker client can act on. The frontend maps
/// each kind to one HTTP status; the IPC schema carries the same enumerators.
enum class ErrorKind {
  Internal,        // a bug or an unexpected system failure (HTTP 500)
  BadRequest,      // malformed or out-of-range client input (HTTP 400)
  NotFound,        // no such object, or an object the caller may not see (HTTP 404)
  Conflict,        // the object is in the wrong state or a name is taken (HTTP 409)
  Forbidden,       // denied by policy (HTTP 403)
  Unavailable,     // miniboxd is absent, refuses us or timed out (HTTP 503)
  NotImplemented,  // miniboxd cannot do this at all (HTTP 501)
  NotModified,     // already in the requested state (HTTP 304)
};

/// An expected failure. `message` is safe to show the client; `context` is for the log only.
struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;
  std::string context;

  static Error make(ErrorKind kind, std::string message, std::string context = {}) {
    return Error{kind, std::move(message), std::move(context)};
  }
};

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

/// Shorthand for returning an error from a function returning Result<T>.
inline Error fail(ErrorKind kind, std::string message, std::string context = {}) {
  return Error::make(kind, std::move(message), std::move(context));
}

const char* toString(ErrorKind kind);

}  // namespace dockerbox

/// Assigns the value of a Result expression to `lhs`, or returns its error from the
/// enclosing function (which must return a Result or an Error-constructible type).
#define DOCKERBOX_TRY_ASSIGN(lhs, expr)  \
  do {                                   \
    auto dockerboxTry_ = (expr);         \
    if (!dockerboxTry_) return dockerboxTry_.error(); \
    lhs = std::move(*dockerboxTry_);     \
  } while (false)
