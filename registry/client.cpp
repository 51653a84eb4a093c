// Runs in: dockerbox-registry (unprivileged, sandboxed). Input: untrusted registry replies.
// Nothing a registry says is believed without its digest: a manifest fetched by tag is
// hashed and compared with Docker-Content-Digest when sent; one fetched by digest must
// hash to it; the config must hash to the manifest's descriptor and have its size.
#include "registry/client.hpp"

#include "registry/auth.hpp"
#include "registry/digest.hpp"

#include <boost/asio/this_coro.hpp>

namespace dockerbox::registry {

namespace asio = boost::asio;

namespace {

constexpr int kMaxRedirects = 5;
constexpr std::size_t kMaxErrorBody = 64 << 10;
constexpr std::size_t kMaxTokenReply = 1 << 20;

bool isLoopback(std::string_view host) {
  return host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1";
}

std::string hostOf(std::string_view domain) {
  if (domain.starts_with("[")) return std::string(domain.substr(0, domain.find(']') + 1));
  return std::string(domain.substr(0, domain.find(':')));
}

/// Percent-encodes a query value (RFC 3986 unreserved kept).
std::string queryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Error statusError(const Reference& ref, unsigned status, const std::string& what) {
  if (status == 401 || status == 403) {
    return fail(ErrorKind::Forbidden, "pull access denied for " + ref.familiarName() +
                                          ", repository does not exist or may require 'docker login': denied: "
                                          "requested access to the resource is denied");
  }
  if (status == 404) return fail(ErrorKind::NotFound, what + " not found: manifest unknown");
  if (status == 429) return fail(ErrorKind::Unavailable, "toomanyrequests: the registry refused: too many requests");
  return fail(ErrorKind::Unavailable, what + ": the registry answered HTTP " + std::to_string(status));
}

}  // namespace

bool isInsecureRegistry(std::string_view domain, const std::vector<std::string>& insecure) {
  if (isLoopback(hostOf(domain))) return true;
  for (const auto& entry : insecure) {
    if (entry == domain) return true;
  }
  return false;
}

asio::awaitable<Result<void>> RegistryClient::authenticate(const Reference& ref, const std::string& header) {
  auto challenges = parseChallenges(header);
  if (!challenges) co_return challenges.error();
  for (const auto& c : *challenges) {
    if (c.scheme == "bearer") {
      auto realm = c.params.find("realm");
      if (realm == c.params.end()) continue;
      auto url = parseUrl(realm->second);
      if (!url) co_return url.error();
      // A registry reached over TLS may not send the client's password in the clear to a
      // token server of its choosing.
      if (options_.credentials && !url->tls && !isInsecureRegistry(ref.domain, options_.insecureRegistries)) {
        co_return fail(ErrorKind::Unavailable, "the registry's token server is not HTTPS: credentials not sent");
      }
      std::string query;
      if (auto service = c.params.find("service"); service != c.params.end()) {
        query += "service=" + queryEscape(service->second);
      }
      // A login asks for no scope: only whether the credentials are good (dockerd does so).
      if (!ref.path.empty()) {
        query += std::string(query.empty() ? "" : "&") + "scope=" + queryEscape("repository:" + ref.path + ":pull");
      }
      url->target += (url->target.find('?') == std::string::npos ? "?" : "&") + query;
      Headers headers;
      if (options_.credentials) {
        headers.emplace_back("Authorization",
                             "Basic " + base64(options_.credentials->username + ":" + options_.credentials->password));
      }
      auto reply = co_await http_.get(*url, headers, kMaxTokenReply);
      if (!reply) co_return reply.error();
      if (reply->status == 401 || reply->status == 403) {
        co_return fail(ErrorKind::Forbidden, "unauthorized: incorrect username or password");
      }
      if (reply->status != 200) co_return statusError(ref, reply->status, "token request");
      auto token = parseTokenReply(reply->body);
      if (!token) co_return token.error();
      authorization_ = "Bearer " + *token;
      co_return Result<void>();
    }
    if (c.scheme == "basic") {
      if (!options_.credentials) break;
      authorization_ = "Basic " + base64(options_.credentials->username + ":" + options_.credentials->password);
      co_return Result<void>();
    }
  }
  co_return statusError(ref, 401, "");
}

asio::awaitable<Result<HttpResponse>> RegistryClient::fetch(const Reference& ref, const std::string& path,
                                                             const std::string& accept, std::size_t limit) {
  Url url;
  url.tls = !isInsecureRegistry(ref.domain, options_.insecureRegistries);
  const std::string host = ref.apiHost();
  if (auto parsed = parseUrl((url.tls ? "https://" : "http://") + host + path); parsed) {
    url = *parsed;
  } else {
    co_return parsed.error();
  }
  const std::string registryHost = url.host;
  bool authenticated = false;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    Headers headers;
    if (!accept.empty()) headers.emplace_back("Accept", accept);
    // Credentials go to the registry only, never to a host it redirects to (a CDN).
    if (!authorization_.empty() && url.host == registryHost) headers.emplace_back("Authorization", authorization_);
    auto reply = co_await http_.get(url, headers, std::max(limit, kMaxErrorBody));
    if (!reply) co_return reply.error();
    if (reply->status == 401 && !authenticated && url.host == registryHost && !reply->wwwAuthenticate.empty()) {
      authenticated = true;
      if (auto ok = co_await authenticate(ref, reply->wwwAuthenticate); !ok) co_return ok.error();
      --hop;
      continue;
    }
    if (reply->status == 401 && authenticated && options_.credentials) {
      // The registry refused the credentials themselves (Basic), or the token they bought.
      co_return fail(ErrorKind::Forbidden, "unauthorized: incorrect username or password");
    }
    if (reply->status == 301 || reply->status == 302 || reply->status == 303 || reply->status == 307 ||
        reply->status == 308) {
      if (reply->location.empty()) co_return fail(ErrorKind::Unavailable, "the registry redirected nowhere");
      auto next = reply->location.starts_with("/")
                      ? parseUrl((url.tls ? "https://" : "http://") + url.hostHeader() + reply->location)
                      : parseUrl(reply->location);
      if (!next) co_return next.error();
      // Never from TLS down to plain HTTP.
      if (url.tls && !next->tls) co_return fail(ErrorKind::Unavailable, "the registry redirected from HTTPS to HTTP");
      url = std::move(*next);
      continue;
    }
    if (reply->body.size() > limit) co_return fail(ErrorKind::Unavailable, "the registry sent more than was expected");
    co_return std::move(*reply);
  }
  co_return fail(ErrorKind::Unavailable, "the registry redirected too many times");
}

asio::awaitable<Result<void>> RegistryClient::login(const Reference& registry) {
  auto reply = co_await fetch(registry, "/v2/", "application/json", kMaxErrorBody);
  if (!reply) co_return reply.error();
  if (reply->status == 200) co_return Result<void>();
  if (reply->status == 401 || reply->status == 403) {
    co_return fail(ErrorKind::Forbidden, options_.credentials ? "unauthorized: incorrect username or password"
                                                              : "unauthorized: authentication required");
  }
  co_return statusError(registry, reply->status, "login");
}

asio::awaitable<Result<std::string>> RegistryClient::fetchManifest(const Reference& ref, const std::string& key,
                                                                   std::string& contentType) {
  auto reply = co_await fetch(ref, "/v2/" + ref.path + "/manifests/" + key, std::string(kManifestAccept),
                              kMaxManifestBytes);
  if (!reply) co_return reply.error();
  if (reply->status != 200) {
    co_return statusError(ref, reply->status, "manifest for " + ref.familiar());
  }
  const std::string digest = sha256Digest(reply->body);
  if (isSha256Digest(key) && digest != key) {
    co_return fail(ErrorKind::Unavailable, "manifest verification failed for digest " + key);
  }
  if (!reply->contentDigest.empty() && reply->contentDigest != digest) {
    co_return fail(ErrorKind::Unavailable, "manifest verification failed: the registry announced " +
                                               reply->contentDigest.substr(0, 80) + " but sent " + digest);
  }
  contentType = std::move(reply->contentType);
  co_return std::move(reply->body);
}

asio::awaitable<Result<ResolvedImage>> RegistryClient::resolve(const Reference& ref, const Platform& platform) {
  ResolvedImage out;
  out.reference = ref;
  std::string contentType;
  auto top = co_await fetchManifest(ref, ref.manifestKey(), contentType);
  if (!top) co_return top.error();
  out.repoDigest = sha256Digest(*top);
  auto parsed = parseManifest(*top, contentType);
  if (!parsed) co_return parsed.error();
  if (auto* index = std::get_if<ImageIndex>(&*parsed)) {
    auto chosen = selectPlatform(*index, platform);
    if (!chosen) co_return chosen.error();
    out.index = std::move(*top);
    auto manifest = co_await fetchManifest(ref, chosen->digest, contentType);
    if (!manifest) co_return manifest.error();
    auto inner = parseManifest(*manifest, contentType);
    if (!inner) co_return inner.error();
    if (!std::holds_alternative<ImageManifest>(*inner)) {
      co_return fail(ErrorKind::Unavailable, "invalid manifest: an index entry names another index");
    }
    out.manifestDigest = chosen->digest;
    out.manifest = std::move(*manifest);
    parsed = std::move(inner);
  } else {
    out.manifestDigest = out.repoDigest;
    out.manifest = std::move(*top);
  }
  const auto& manifest = std::get<ImageManifest>(*parsed);
  for (const auto& layer : manifest.layers) out.layersSize += layer.size;
  auto config = co_await fetch(ref, "/v2/" + ref.path + "/blobs/" + manifest.config.digest, "",
                               static_cast<std::size_t>(manifest.config.size));
  if (!config) co_return config.error();
  if (config->status != 200) co_return statusError(ref, config->status, "config blob " + manifest.config.digest);
  if (static_cast<std::int64_t>(config->body.size()) != manifest.config.size ||
      sha256Digest(config->body) != manifest.config.digest) {
    co_return fail(ErrorKind::Unavailable, "filesystem layer verification failed for digest " + manifest.config.digest);
  }
  out.configDigest = manifest.config.digest;
  out.config = std::move(config->body);
  co_return out;
}

}  // namespace dockerbox::registry
