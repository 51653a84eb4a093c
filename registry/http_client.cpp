// Runs in: dockerbox-registry (unprivileged, sandboxed). Input: untrusted network bytes;
// Beast's parser with explicit header and body limits reads them.
#include "registry/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <charconv>

namespace dockerbox::registry {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t kMaxHeaderBytes = 64 << 10;

Error network(const std::string& what, const Url& url, const beast::error_code& ec) {
  return fail(ErrorKind::Unavailable, what + " " + url.hostHeader() + ": " + ec.message());
}

}  // namespace

std::string Url::hostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80")) h += ":" + port;
  return h;
}

std::string Url::text() const { return (tls ? "https://" : "http://") + hostHeader() + target; }

Result<Url> parseUrl(std::string_view text) {
  auto bad = [&] { return fail(ErrorKind::Unavailable, "invalid URL from the registry: " + std::string(text.substr(0, 200))); };
  Url url;
  if (text.starts_with("https://")) {
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    text.remove_prefix(7);
  } else {
    return bad();
  }
  auto end = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : text.substr(end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return bad();
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad();
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad();
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host.size() > 253) return bad();
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':')) return bad();
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) return bad();
  }
  url.host = std::string(host);
  url.port = port.empty() ? (url.tls ? "443" : "80") : std::string(port);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  url.target = rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
  for (char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad();
  }
  return url;
}

Result<asio::ssl::context> makeTlsContext() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                  ec);
  if (!ec) ctx.set_default_verify_paths(ec);
  if (ec) return fail(ErrorKind::Internal, "cannot load the system's CA certificates: " + ec.message());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

asio::awaitable<Result<HttpResponse>> HttpClient::get(const Url& url, const Headers& headers, std::size_t bodyLimit) {
  auto executor = co_await asio::this_coro::executor;
  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, token);
  if (ec) co_return network("cannot resolve", url, ec);

  http::request<http::empty_body> request(http::verb::get, url.target, 11);
  request.set(http::field::host, url.hostHeader());
  request.set(http::field::user_agent, "dockerbox");
  for (const auto& [name, value] : headers) request.set(name, value);

  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(bodyLimit);
  beast::flat_buffer buffer;

  if (url.tls) {
    beast::ssl_stream<beast::tcp_stream> stream(executor, tls_);
    // SNI (SSL_set_tlsext_host_name, spelled out: the macro casts in C style).
    if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(url.host.c_str())) != 1) {
      co_return fail(ErrorKind::Unavailable, "TLS setup failed for " + url.hostHeader());
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
    beast::get_lowest_layer(stream).expires_after(stepTimeout_);
    co_await beast::get_lowest_layer(stream).async_connect(endpoints, token);
    if (ec) co_return network("cannot connect to", url, ec);
    beast::get_lowest_layer(stream).expires_after(stepTimeout_);
    co_await stream.async_handshake(asio::ssl::stream_base::client, token);
    if (ec) co_return network("TLS handshake failed with", url, ec);
    beast::get_lowest_layer(stream).expires_after(stepTimeout_);
    co_await http::async_write(stream, request, token);
    if (ec) co_return network("cannot send to", url, ec);
    beast::get_lowest_layer(stream).expires_after(stepTimeout_);
    co_await http::async_read(stream, buffer, parser, token);
    if (ec) co_return network("cannot read from", url, ec);
  } else {
    beast::tcp_stream stream(executor);
    stream.expires_after(stepTimeout_);
    co_await stream.async_connect(endpoints, token);
    if (ec) co_return network("cannot connect to", url, ec);
    stream.expires_after(stepTimeout_);
    co_await http::async_write(stream, request, token);
    if (ec) co_return network("cannot send to", url, ec);
    stream.expires_after(stepTimeout_);
    co_await http::async_read(stream, buffer, parser, token);
    if (ec) co_return network("cannot read from", url, ec);
  }
  auto& response = parser.get();
  HttpResponse out;
  out.status = response.result_int();
  out.contentType = std::string(response[http::field::content_type]);
  out.wwwAuthenticate = std::string(response[http::field::www_authenticate]);
  out.location = std::string(response[http::field::location]);
  out.contentDigest = std::string(response["Docker-Content-Digest"]);
  out.body = std::move(response.body());
  co_return out;
}

}  // namespace dockerbox::registry
