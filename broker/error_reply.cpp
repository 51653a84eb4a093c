#include "broker/error_reply.hpp"

#include <string>

namespace dockerbox::broker {
namespace {

ipc::wire::ErrorKind toWire(ErrorKind kind) {
  using W = ipc::wire::ErrorKind;
  switch (kind) {
    case ErrorKind::Internal: return W::INTERNAL;
    case ErrorKind::BadRequest: return W::BAD_REQUEST;
    case ErrorKind::NotFound: return W::NOT_FOUND;
    case ErrorKind::Conflict: return W::CONFLICT;
    case ErrorKind::Forbidden: return W::FORBIDDEN;
    case ErrorKind::Unavailable: return W::UNAVAILABLE;
    case ErrorKind::NotImplemented: return W::NOT_IMPLEMENTED;
    case ErrorKind::NotModified: return W::NOT_MODIFIED;
  }
  return W::INTERNAL;
}

}  // namespace

void renderError(const Error& error, ipc::wire::Response::Result::Builder out) {
  auto reply = out.initError();
  reply.setKind(toWire(error.kind));
  reply.setMessage(error.message.empty() ? std::string("internal error") : error.message);
}

}  // namespace dockerbox::broker
