#include "frontend/http_codec.hpp"

#include "frontend/limits.hpp"
#include "frontend/response.hpp"
#include "ipc/limits.hpp"

#include <boost/beast/http/error.hpp>

namespace dockerbox::frontend {
namespace {

namespace http = boost::beast::http;

// A body that passes the parser must still fit in one IPC frame to the broker.
static_assert(kMaxBodyBytes + kMaxHeaderBytes < ipc::kMaxWorkerFrameBytes);

Method toMethod(http::verb verb) {
  switch (verb) {
    case http::verb::get: return Method::Get;
    case http::verb::head: return Method::Head;
    case http::verb::post: return Method::Post;
    case http::verb::put: return Method::Put;
    case http::verb::delete_: return Method::Delete;
    default: return Method::Other;
  }
}

}  // namespace

void applyLimits(RequestParser& parser) {
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(kMaxBodyBytes);
}

HttpRequest fromBeast(BeastRequest&& request) {
  HttpRequest out;
  out.method = toMethod(request.method());
  out.target = std::string(request.target());
  out.keepAlive = request.keep_alive();
  for (const auto& field : request) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(request.body());
  return out;
}

BeastResponse toBeast(HttpResponse&& response, bool keepAlive, bool headRequest) {
  BeastResponse out{static_cast<http::status>(response.status), 11};
  for (auto& [name, value] : response.headers) out.set(name, value);
  bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
  if (headRequest || bodiless) {
    response.body.clear();
  }
  out.body() = std::move(response.body);
  if (!bodiless) out.prepare_payload();
  if (response.chunked && !bodiless && !headRequest) out.chunked(true);
  out.keep_alive(keepAlive && !response.closeAfter);
  return out;
}

HttpResponse refusalFor(const boost::system::error_code& error) {
  HttpResponse response;
  if (error == http::error::header_limit) {
    response = errorResponse(431, "request header fields too large");
  } else if (error == http::error::body_limit) {
    response = errorResponse(413, "request body too large");
  } else {
    response = errorResponse(400, "malformed HTTP request");
  }
  response.closeAfter = true;
  return response;
}

ParsedBytes parseRequestBytes(std::string_view bytes) {
  RequestParser parser;
  applyLimits(parser);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t offset = 0;
  while (offset < bytes.size() && !parser.is_done()) {
    std::size_t used = parser.put(boost::asio::buffer(bytes.data() + offset, bytes.size() - offset), ec);
    if (ec == http::error::need_more) break;
    if (ec) return {std::nullopt, refusalFor(ec)};
    if (used == 0) break;
    offset += used;
  }
  if (!parser.is_done()) {
    // Beast asserts that put_eof() follows at least one byte of a message.
    if (!parser.got_some()) return {std::nullopt, refusalFor(http::error::partial_message)};
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return {std::nullopt, refusalFor(http::error::partial_message)};
  }
  return {fromBeast(parser.release()), std::nullopt};
}

}  // namespace dockerbox::frontend
