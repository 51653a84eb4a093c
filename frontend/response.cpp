#include "frontend/response.hpp"

#include "frontend/engine_identity.hpp"

#include <boost/json/serialize.hpp>

namespace dockerbox::frontend {

void addEngineHeaders(HttpResponse& response) {
  response.setHeader("Api-Version", std::string(kApiVersion));
  response.setHeader("Docker-Experimental", "false");
  response.setHeader("Ostype", std::string(kOsType));
  response.setHeader("Server", std::string(kServerHeader));
}

HttpResponse jsonResponse(unsigned status, const boost::json::value& body) {
  HttpResponse response;
  response.status = status;
  response.setHeader("Content-Type", "application/json");
  response.body = boost::json::serialize(body);
  response.body += '\n';
  addEngineHeaders(response);
  return response;
}

HttpResponse errorResponse(unsigned status, std::string_view message) {
  boost::json::object body;
  body["message"] = message;
  return jsonResponse(status, body);
}

unsigned httpStatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::BadRequest: return 400;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::Conflict: return 409;
    case ErrorKind::Forbidden: return 403;
    case ErrorKind::Unavailable: return 503;
    case ErrorKind::NotImplemented: return 501;
    case ErrorKind::NotModified: return 304;
    case ErrorKind::Internal: return 500;
  }
  return 500;
}

HttpResponse errorResponse(const Error& error) {
  unsigned status = httpStatusFor(error.kind);
  if (status == 304) {
    // A 304 has no body (RFC 9110 §15.4.5); clients count it as success on start/stop.
    HttpResponse response;
    response.status = 304;
    addEngineHeaders(response);
    return response;
  }
  return errorResponse(status, error.message);
}

HttpResponse pageNotFound() { return errorResponse(404, "page not found"); }

}  // namespace dockerbox::frontend
