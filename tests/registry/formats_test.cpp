// The registry formats (registry/): references, manifests and indexes, platforms, image
// configs, auth challenges and token replies. Pure functions; no network.
#include "registry/auth.hpp"
#include "registry/digest.hpp"
#include "registry/image_config.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"
#include "registry/verify.hpp"

#include <gtest/gtest.h>

namespace dockerbox::registry {
namespace {

const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');

TEST(RegistryReference, NormalisesLikeDocker) {
  struct Case {
    const char* in;
    const char* canonical;
    const char* familiar;
  };
  for (const auto& c : std::initializer_list<Case>{
           {"alpine", "docker.io/library/alpine:latest", "alpine:latest"},
           {"alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"},
           {"me/app", "docker.io/me/app:latest", "me/app:latest"},
           {"docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest"},
           {"index.docker.io/me/app:1", "docker.io/me/app:1", "me/app:1"},
           {"quay.io/libpod/alpine_labels", "quay.io/libpod/alpine_labels:latest", "quay.io/libpod/alpine_labels:latest"},
           {"localhost/x", "localhost/x:latest", "localhost/x:latest"},
           {"127.0.0.1:5000/x/y:t", "127.0.0.1:5000/x/y:t", "127.0.0.1:5000/x/y:t"},
           {"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
           {"a.b/c__d/e-f--g.h", "a.b/c__d/e-f--g.h:latest", "a.b/c__d/e-f--g.h:latest"},
       }) {
    auto ref = parseReference(c.in);
    ASSERT_TRUE(ref) << c.in << ": " << ref.error().message;
    EXPECT_EQ(ref->canonical(), c.canonical) << c.in;
    EXPECT_EQ(ref->familiar(), c.familiar) << c.in;
  }
  auto digested = parseReference("alpine@" + kD1);
  ASSERT_TRUE(digested);
  EXPECT_EQ(digested->tag, "");
  EXPECT_EQ(digested->manifestKey(), kD1);
  EXPECT_EQ(digested->apiHost(), "registry-1.docker.io");
  auto both = parseReference("ghcr.io/o/x:1@" + kD2);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->canonical(), "ghcr.io/o/x:1@" + kD2);
  EXPECT_EQ(both->apiHost(), "ghcr.io");
}

TEST(RegistryReference, RefusesWhatDockerRefuses) {
  for (const char* bad : {"", "Alpine", "me/App", "a//b", "a/", "/a", "a:", "a:-x", "a@sha256:12", "a@md5:" ,
                          "-a", "a-", "a..b", "a___b", "host:port:bad/x", "a b", ":tag", "a@"}) {
    EXPECT_FALSE(parseReference(bad)) << bad;
  }
  EXPECT_FALSE(parseReference("a:" + std::string(129, 't')));
  EXPECT_TRUE(parseReference("a:" + std::string(128, 't')));
  EXPECT_FALSE(parseReference("x/" + std::string(250, 'a')));
}

TEST(RegistryReference, LoginAddressesAreDomainsOnly) {
  for (const char* hub : {"", "https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"}) {
    auto r = parseRegistryAddress(hub);
    ASSERT_TRUE(r) << hub;
    EXPECT_EQ(r->domain, "docker.io") << hub;
    EXPECT_TRUE(r->path.empty() && r->tag.empty() && r->digest.empty());
  }
  EXPECT_EQ(parseRegistryAddress("127.0.0.1:5000")->domain, "127.0.0.1:5000");
  EXPECT_EQ(parseRegistryAddress("https://ghcr.io/v2/")->domain, "ghcr.io");
  for (const char* bad : {"bad host", "-x.io", "x.io:port", "http://"}) EXPECT_FALSE(parseRegistryAddress(bad)) << bad;
}

TEST(RegistryDigest, Sha256) {
  EXPECT_EQ(sha256Digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("ab");
  h.update("c");
  EXPECT_EQ(h.finish(), sha256Digest("abc"));
  EXPECT_TRUE(isSha256Digest(sha256Digest("x")));
  EXPECT_FALSE(isSha256Digest("sha256:" + std::string(64, 'A')));
}

std::string manifestJson(const std::string& type) {
  return R"({"schemaVersion":2,"mediaType":")" + type + R"(","config":{"mediaType":"c","digest":")" + kD1 +
         R"(","size":12},"layers":[{"mediaType":"l","digest":")" + kD2 + R"(","size":300}]})";
}

TEST(RegistryManifest, ParsesImageManifests) {
  for (auto type : {kOciManifest, kDockerManifest}) {
    auto m = parseManifest(manifestJson(std::string(type)), "");
    ASSERT_TRUE(m) << m.error().message;
    auto& image = std::get<ImageManifest>(*m);
    EXPECT_EQ(image.config.digest, kD1);
    EXPECT_EQ(image.config.size, 12);
    ASSERT_EQ(image.layers.size(), 1u);
    EXPECT_EQ(image.layers[0].size, 300);
  }
  // Without mediaType in the body, the Content-Type decides.
  auto viaHeader = parseManifest(R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":1},"layers":[]})",
                                 std::string(kDockerManifest) + "; charset=utf-8");
  EXPECT_TRUE(viaHeader);
}

TEST(RegistryManifest, RefusesBadOnes) {
  EXPECT_FALSE(parseManifest("{", ""));
  EXPECT_FALSE(parseManifest("[]", ""));
  EXPECT_FALSE(parseManifest(R"({"schemaVersion":1,"name":"x"})", "application/vnd.docker.distribution.manifest.v1+json"));
  EXPECT_FALSE(parseManifest(R"({"schemaVersion":2,"mediaType":"text/plain"})", ""));
  std::string badDigest = manifestJson(std::string(kOciManifest));
  badDigest.replace(badDigest.find(kD1), 10, "sha256:XYZ");
  EXPECT_FALSE(parseManifest(badDigest, ""));
  std::string negative = manifestJson(std::string(kOciManifest));
  negative.replace(negative.find("300"), 3, "-30");
  EXPECT_FALSE(parseManifest(negative, ""));
  std::string huge = manifestJson(std::string(kOciManifest));
  huge.replace(huge.find("\"size\":12"), 9, "\"size\":99999999999");
  EXPECT_FALSE(parseManifest(huge, "")) << "a config larger than 4 MiB";
  std::string deep(100, '[');
  EXPECT_FALSE(parseManifest(deep + std::string(100, ']'), ""));
}

TEST(RegistryManifest, IndexSelectsThePlatform) {
  const std::string index = R"({"schemaVersion":2,"mediaType":")" + std::string(kOciIndex) +
                            R"(","manifests":[{"mediaType":")" + std::string(kOciManifest) + R"(","digest":")" + kD1 +
                            R"(","size":5,"platform":{"os":"linux","architecture":"amd64"}},{"mediaType":")" +
                            std::string(kOciManifest) + R"(","digest":")" + kD2 +
                            R"(","size":5,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]})";
  auto parsed = parseManifest(index, "");
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto& i = std::get<ImageIndex>(*parsed);
  EXPECT_EQ(selectPlatform(i, {"linux", "amd64", ""})->digest, kD1);
  EXPECT_EQ(selectPlatform(i, {"linux", "amd64", "v3"}).has_value(), false);
  EXPECT_EQ(selectPlatform(i, {"linux", "arm64", ""})->digest, kD2);  // arm64 means v8
  EXPECT_EQ(selectPlatform(i, {"linux", "arm64", "v8"})->digest, kD2);
  EXPECT_FALSE(selectPlatform(i, {"linux", "arm", ""}));
  auto none = selectPlatform(i, {"windows", "amd64", ""});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no matching manifest for windows/amd64 in the manifest list entries");
}

TEST(RegistryPlatform, Parses) {
  EXPECT_EQ(parsePlatform("linux/amd64")->text(), "linux/amd64");
  EXPECT_EQ(parsePlatform("linux/arm/v7")->variant, "v7");
  for (const char* bad : {"", "linux", "linux/", "/amd64", "linux/amd64/v8/x", "Linux/AMD64", "linux/a b"}) {
    EXPECT_FALSE(parsePlatform(bad)) << bad;
  }
  EXPECT_EQ(hostPlatform().os, "linux");
}

TEST(RegistryImageConfig, ReadsWhatContainersNeed) {
  auto c = parseImageConfig(R"({"architecture":"amd64","os":"linux","created":"2026-11-01T10:00:00Z",
    "config":{"Entrypoint":["/e"],"Cmd":null,"Env":["A=1"],"WorkingDir":"/w","User":"u:g",
      "Labels":{"b":"2","a":"1"},"ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},
      "StopSignal":"SIGINT","Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Retries":3}},
    "rootfs":{"type":"layers","diff_ids":[")" + kD1 + R"("]},"unknown":{"x":[1,2,3]}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/e"});
  EXPECT_FALSE(c->cmd.has_value());
  EXPECT_EQ(c->env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(c->workingDir, "/w");
  EXPECT_EQ(c->user, "u:g");
  ASSERT_EQ(c->labels.size(), 2u);
  EXPECT_EQ(c->labels[0].first, "a");
  EXPECT_EQ(c->exposedPorts, (std::vector<std::string>{"53/udp", "80/tcp"}));
  EXPECT_EQ(c->volumes, std::vector<std::string>{"/data"});
  ASSERT_TRUE(c->healthcheck);
  EXPECT_EQ(c->healthcheck->retries, 3);
  EXPECT_EQ(c->diffIds, std::vector<std::string>{kD1});
  EXPECT_TRUE(parseImageConfig("{}"));
}

TEST(RegistryImageConfig, RefusesWrongTypes) {
  for (const char* bad : {R"({"config":{"Cmd":"ls"}})", R"({"config":{"Env":[1]}})", R"({"config":[]})",
                          R"({"config":{"Labels":{"a":1}}})", R"({"os":7})", R"({"rootfs":{"diff_ids":["x"]}})",
                          R"({"config":{"Healthcheck":{"Retries":-1}}})", "[", "null"}) {
    EXPECT_FALSE(parseImageConfig(bad)) << bad;
  }
}

TEST(RegistryAuth, ParsesChallenges) {
  auto c = parseChallenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].params.at("scope"), "repository:library/alpine:pull");
  auto two = parseChallenges(R"(Basic realm="a \"q\"", Bearer realm="https://x/t" , service=s)");
  ASSERT_TRUE(two) << two.error().message;
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].params.at("realm"), "a \"q\"");
  EXPECT_EQ((*two)[1].params.at("realm"), "https://x/t");
  EXPECT_EQ((*two)[1].params.at("service"), "s");
  EXPECT_FALSE(parseChallenges(R"(Bearer realm="unterminated)"));
}

TEST(RegistryAuth, TokenReplies) {
  EXPECT_EQ(*parseTokenReply(R"({"token":"abc","expires_in":300})"), "abc");
  EXPECT_EQ(*parseTokenReply(R"({"access_token":"xyz"})"), "xyz");
  EXPECT_EQ(*parseTokenReply(R"({"token":"","access_token":"xyz"})"), "xyz");
  for (const char* bad : {"{}", R"({"token":5})", R"({"token":"a\nb"})", R"({"token":"a b"})", "x"}) {
    EXPECT_FALSE(parseTokenReply(bad)) << bad;
  }
  EXPECT_EQ(base64("alice:s3cret"), "YWxpY2U6czNjcmV0");
  EXPECT_EQ(base64("a"), "YQ==");
  EXPECT_EQ(base64(""), "");
}

Answer answerFor(const std::string& config, bool withIndex) {
  Answer a;
  a.config = config;
  a.configDigest = sha256Digest(config);
  a.manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(kOciManifest) + R"(","config":{"digest":")" +
               a.configDigest + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[{"digest":")" + kD2 +
               R"(","size":7}]})";
  a.manifestDigest = sha256Digest(a.manifest);
  a.repoDigest = a.manifestDigest;
  if (withIndex) {
    a.index = R"({"schemaVersion":2,"mediaType":")" + std::string(kOciIndex) + R"(","manifests":[{"digest":")" +
              a.manifestDigest + R"(","size":5,"platform":{"os":"linux","architecture":"amd64"}}]})";
    a.repoDigest = sha256Digest(a.index);
  }
  return a;
}

TEST(RegistryVerify, AcceptsAConsistentAnswer) {
  auto ref = parseReference("127.0.0.1:5000/x/y:1");
  for (bool index : {false, true}) {
    auto v = verifyAnswer(*ref, answerFor(R"({"config":{"Cmd":["/bin/true"]}})", index));
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->size, 7);
    EXPECT_EQ(v->parsed.cmd, std::vector<std::string>{"/bin/true"});
  }
}

TEST(RegistryVerify, RefusesEveryInconsistency) {
  auto ref = parseReference("127.0.0.1:5000/x/y:1");
  const std::string config = R"({"config":{"Cmd":["/bin/true"]}})";
  auto expectRefused = [&](const Reference& r, const Answer& a, const char* what) {
    auto v = verifyAnswer(r, a);
    EXPECT_FALSE(v) << what;
    if (!v) {
      EXPECT_NE(v.error().message.find("verification failed"), std::string::npos) << v.error().message;
    }
  };
  auto a = answerFor(config, false);
  a.config = R"({"config":{"Cmd":["/bin/evil"]}})";
  expectRefused(*ref, a, "a config other than the manifest names");
  a = answerFor(config, false);
  a.manifest += " ";
  expectRefused(*ref, a, "a manifest that does not hash to its digest");
  a = answerFor(config, true);
  a.index.back() = ' ';
  expectRefused(*ref, a, "an index that does not hash to the repo digest");
  a = answerFor(config, false);
  a.repoDigest = "sha256:" + std::string(64, 'f');
  expectRefused(*ref, a, "a repo digest that is not the manifest's");
  auto pinned = parseReference("127.0.0.1:5000/x/y@sha256:" + std::string(64, 'e'));
  expectRefused(*pinned, answerFor(config, false), "another image than the digest named");
  a = answerFor(config, true);
  auto other = answerFor(R"({"config":{}})", false);
  a.manifest = other.manifest;
  a.manifestDigest = other.manifestDigest;
  a.config = other.config;
  a.configDigest = other.configDigest;
  expectRefused(*ref, a, "a manifest the index does not list");
}

}  // namespace
}  // namespace dockerbox::registry
