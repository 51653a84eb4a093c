// Resolving an image in an OCI distribution registry: the manifest a reference names, the
// host platform's manifest in an index, and the image config, each verified by its digest.
// Runs in: dockerbox-registry (unprivileged, sandboxed). Input: the network (untrusted).
#pragma once

#include "common/result.hpp"
#include "registry/http_client.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace dockerbox::registry {

struct Credentials {
  std::string username;
  std::string password;
};

struct ClientOptions {
  /// Registries spoken to in plain HTTP besides loopback ones (Docker's
  /// "insecure-registries": host[:port]).
  std::vector<std::string> insecureRegistries;
  std::optional<Credentials> credentials;
};

struct ResolvedImage {
  Reference reference;
  std::string repoDigest;      // what the reference resolved to: the index's or the manifest's digest
  std::string manifestDigest;  // the image manifest for the platform
  std::string manifest;        // its bytes (digest verified)
  std::string index;           // the index's bytes when the reference named one, else empty
  std::string configDigest;
  std::string config;          // the image config's bytes (digest and size verified)
  std::int64_t layersSize = 0; // the sum of the compressed layer sizes
};

/// True when `domain` is spoken to in plain HTTP: loopback (localhost, 127.0.0.0/8, ::1)
/// or listed in `insecure`.
[[nodiscard]] bool isInsecureRegistry(std::string_view domain, const std::vector<std::string>& insecure);

class RegistryClient {
 public:
  RegistryClient(HttpClient& http, ClientOptions options) : http_(http), options_(std::move(options)) {}

  /// The manifest and config `ref` names, for `platform` when it names an index.
  boost::asio::awaitable<Result<ResolvedImage>> resolve(const Reference& ref, const Platform& platform);
  /// `docker login`: whether the registry of `registry` (a domain only, see
  /// parseRegistryAddress) accepts the credentials, by the same dance a pull does on /v2/.
  boost::asio::awaitable<Result<void>> login(const Reference& registry);

 private:
  /// GET with the registry's auth dance (token or Basic, once) and redirects (up to five).
  boost::asio::awaitable<Result<HttpResponse>> fetch(const Reference& ref, const std::string& path,
                                                     const std::string& accept, std::size_t limit);
  boost::asio::awaitable<Result<void>> authenticate(const Reference& ref, const std::string& challenge);
  boost::asio::awaitable<Result<std::string>> fetchManifest(const Reference& ref, const std::string& key,
                                                            std::string& contentType);

  HttpClient& http_;
  ClientOptions options_;
  std::string authorization_;  // the Authorization header value once authenticated
};

}  // namespace dockerbox::registry
