// X-Registry-Auth as the docker CLI and the SDKs send it (frontend/registry_auth.hpp).
#include "frontend/registry_auth.hpp"

#include <gtest/gtest.h>

namespace dockerbox::frontend {
namespace {

TEST(RegistryAuthHeader, ReadsWhatClientsSend) {
  EXPECT_FALSE(*parseRegistryAuth(""));
  EXPECT_FALSE(*parseRegistryAuth("e30="));  // {} : the CLI's anonymous pull
  EXPECT_FALSE(*parseRegistryAuth("e30"));
  // {"username":"alice","password":"s3cret","serveraddress":"127.0.0.1:5000"}, base64url, unpadded
  auto both = parseRegistryAuth(
      "eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJzM2NyZXQiLCJzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ");
  ASSERT_TRUE(both && *both);
  EXPECT_EQ((*both)->username, "alice");
  EXPECT_EQ((*both)->password, "s3cret");
  // {"auth":"Ym9iOnB3"} : base64 of bob:pw
  auto encoded = parseRegistryAuth("eyJhdXRoIjoiWW05aU9uQjMifQ==");
  ASSERT_TRUE(encoded && *encoded);
  EXPECT_EQ((*encoded)->username, "bob");
  EXPECT_EQ((*encoded)->password, "pw");
  // {"identitytoken":"tok"} : nothing dockerbox can use yet, so anonymous
  EXPECT_FALSE(*parseRegistryAuth("eyJpZGVudGl0eXRva2VuIjoidG9rIn0="));
}

TEST(RegistryAuthHeader, RefusesWhatDoesNotDecode) {
  for (const char* bad : {"not base64!", "W10=" /* [] */, "eyJ1c2VybmFtZSI6ImE6YiIsInBhc3N3b3JkIjoieCJ9" /* a:b */,
                          "eyJwYXNzd29yZCI6IngifQ" /* password without user */}) {
    auto r = parseRegistryAuth(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::BadRequest);
    EXPECT_EQ(r.error().message, "invalid X-Registry-Auth header");
  }
  EXPECT_FALSE(parseRegistryAuth(std::string(9000, 'A')));
}

TEST(LoginBody, TakesTheAddressAndTheCredentials) {
  auto login = parseLoginBody(R"({"username":"alice","password":"s3cret","serveraddress":"127.0.0.1:5000"})");
  ASSERT_TRUE(login) << login.error().message;
  EXPECT_EQ(login->server, "127.0.0.1:5000");
  EXPECT_EQ(login->auth.username, "alice");
  EXPECT_EQ(login->auth.password, "s3cret");
  auto hub = parseLoginBody(R"({"auth":"Ym9iOnB3"})");  // bob:pw, no address: Docker Hub
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->server, "");
  EXPECT_EQ(hub->auth.username, "bob");
}

TEST(LoginBody, RefusesWhatItCannotCheck) {
  EXPECT_EQ(parseLoginBody(R"({"identitytoken":"tok","serveraddress":"r"})").error().kind, ErrorKind::NotImplemented);
  for (const char* bad : {"", "[]", "{}", R"({"username":"a:b","password":"x"})", R"({"username":"a"})",
                          R"({"username":"a","password":"x","serveraddress":7})"}) {
    auto r = parseLoginBody(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::BadRequest) << bad;
  }
}

}  // namespace
}  // namespace dockerbox::frontend
