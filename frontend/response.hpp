// Docker-shaped responses: the headers dockerd puts on every answer, JSON bodies with a
// trailing newline, and {"message": ...} errors. Runs in: a frontend worker.
#pragma once

#include "common/result.hpp"
#include "frontend/http_types.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace dockerbox::frontend {

/// Adds Api-Version, Docker-Experimental, Ostype and Server (dockerd's version and
/// experimental middlewares put them on every non-hijacked response).
void addEngineHeaders(HttpResponse& response);

/// A JSON response: Content-Type application/json, serialized body plus "\n".
[[nodiscard]] HttpResponse jsonResponse(unsigned status, const boost::json::value& body);

/// {"message": message} with the given status.
[[nodiscard]] HttpResponse errorResponse(unsigned status, std::string_view message);

/// The HTTP status a client expects for each kind of failure.
[[nodiscard]] unsigned httpStatusFor(ErrorKind kind);

/// An Error as a Docker response. Only `message` reaches the client; `context` is logged
/// by the caller. 304 carries no body, as dockerd sends it.
[[nodiscard]] HttpResponse errorResponse(const Error& error);

/// 404 {"message":"page not found"}, dockerd's answer for an unknown route or method.
[[nodiscard]] HttpResponse pageNotFound();

}  // namespace dockerbox::frontend
