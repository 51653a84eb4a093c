// Conversion between Beast's HTTP messages and the plain HttpRequest/HttpResponse values,
// and the parser limits every request is read with. Runs in: a frontend worker. Input:
// untrusted bytes from the Docker client. No sockets here: the session, the tests and the
// fuzz target all go through these functions.
#pragma once

#include "frontend/http_types.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>
#include <string_view>

namespace dockerbox::frontend {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Sets the header and body limits (limits.hpp) on a fresh parser. Every request gets its
/// own parser, so one request's state never leaks into the next.
void applyLimits(RequestParser& parser);

[[nodiscard]] HttpRequest fromBeast(BeastRequest&& request);

/// Builds the wire response. HEAD answers carry no body; Content-Length is always set
/// (except on 1xx/204/304), so keep-alive framing never depends on closing.
[[nodiscard]] BeastResponse toBeast(HttpResponse&& response, bool keepAlive, bool headRequest);

/// The Docker-shaped answer to a request Beast refused: 431 for an oversized head, 413 for
/// an oversized body, 400 for anything malformed. Always closes the connection.
[[nodiscard]] HttpResponse refusalFor(const boost::system::error_code& error);

/// Parses one request from `bytes` with the production limits (tests and fuzzing).
struct ParsedBytes {
  std::optional<HttpRequest> request;  // a complete request
  std::optional<HttpResponse> refusal; // what the session would answer instead
};
[[nodiscard]] ParsedBytes parseRequestBytes(std::string_view bytes);

}  // namespace dockerbox::frontend
